// Fastify plugin: the agent WebSocket route at AGENT_WS_PATH, backed by one Gateway that the
// app reaches as `app.agentGateway` (revocation, stats, shutdown).
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { AGENT_WS_PATH, MAX_FRAME_BYTES } from '../../shared/agent-protocol.js';
import { Gateway, type GatewayOptions } from './gateway.js';

declare module 'fastify' {
  interface FastifyInstance {
    agentGateway: Gateway;
  }
}

async function agentGatewayPlugin(app: FastifyInstance, options: GatewayOptions): Promise<void> {
  const gateway = new Gateway({ ...options, logger: options.logger ?? (app.log as GatewayOptions['logger']) });
  if (!app.hasDecorator('websocketServer')) {
    await app.register(websocket, {
      options: { maxPayload: MAX_FRAME_BYTES },
      // Replaces the default, which would close agents without a code before our hook ran.
      preClose(done) {
        gateway.close();
        this.websocketServer.close();
        done();
      },
    });
  }
  app.decorate('agentGateway', gateway);
  // When the app registered @fastify/websocket itself, its shutdown should call
  // app.agentGateway.close() before app.close() so agents see CloseCode.shutdown.
  app.addHook('preClose', (done) => {
    gateway.close();
    done();
  });
  app.get(AGENT_WS_PATH, { websocket: true }, (socket) => gateway.accept(socket));
}

export const agentGateway = fp(agentGatewayPlugin, { name: 'ringbridge-agent-gateway', fastify: '5.x' });
