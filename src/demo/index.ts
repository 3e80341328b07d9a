// `npm start`: Ringbridge end to end on this machine, loopback only. Starts the bus (embedded
// SQLite in a temp directory), a simulated 3CX and HubSpot, provisions a tenant like an admin,
// runs two terminal agents and plays scripted calls, then keeps placing calls until Ctrl-C.
//   npm start                 (tsx src/demo/index.ts; also serves the first agent's window to a browser)
//   npm start -- --once       (the scripted calls only, then exit: 0 when every check passed)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HUBSPOT_SIM_CLIENT } from '../sim/crm/hubspot/index.js';
import { AGENTS } from './cast.js';
import { Printer } from './print.js';
import { SCRIPTED_SCENES, endlessCalls, type SceneContext } from './scenes.js';
import { setupSummary, startStage, type Stage } from './stage.js';
import { pairAgent, startTerminalAgent, type TerminalAgent } from './terminal-agent.js';
import { serveAgentWindow, type AgentWindow } from './window.js';

const once = process.argv.includes('--once');
const printer = new Printer((line) => process.stdout.write(`${line}\n`), Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);
/** Slow enough to follow by eye; --once (tests) keeps it short. */
const STEP_DELAY_MS = once ? 150 : 700;
const CALL_EVERY_MS = 4000;

const dataDir = mkdtempSync(join(tmpdir(), 'ringbridge-demo-'));
let stage: Stage | null = null;
let agentWindow: AgentWindow | null = null;
const agents = new Map<string, TerminalAgent>();
let stopping = false;

async function shutdown(code: number): Promise<never> {
  stopping = true;
  // A shutdown that hangs (a stuck socket) must not keep the terminal.
  setTimeout(() => {
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(code || 1);
  }, 5000).unref();
  await agentWindow?.close().catch(() => undefined);
  for (const agent of agents.values()) await agent.close().catch(() => undefined);
  await stage?.close().catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
  process.exit(code);
}

process.on('SIGINT', () => {
  if (stopping) process.exit(130); // second Ctrl-C: do not wait
  printer.heading('Ctrl-C: stopping the agents, the bus and the simulators…');
  void shutdown(0);
});
process.on('SIGTERM', () => void shutdown(0));

async function main(): Promise<number> {
  printer.heading('Ringbridge demo: a simulated 3CX PBX -> the bus -> terminal agents -> a simulated HubSpot (all on 127.0.0.1)');
  stage = await startStage({ dataDir, stepDelayMs: STEP_DELAY_MS });

  printer.heading('Setup (what the administrator did and saw; secrets shortened)');
  for (const row of setupSummary(stage)) printer.note(row);

  printer.startScene('Agents start, pair with their one-time codes and connect');
  for (const a of AGENTS.filter((x) => x.onScreen)) {
    const crm = { id: 'hubspot' as const, clientId: HUBSPOT_SIM_CLIENT.clientId, origin: stage.hubspot.url };
    const agent = await startTerminalAgent({ extension: a.extension, dataDir: stage.dataDir, printer, crm });
    agents.set(a.extension, agent);
    await pairAgent(agent, stage.bus.url, stage.pairingCodes.get(a.extension)!);
    printer.say(agent.label, 'paired', `as ${agent.core.agent?.name}, extension ${a.extension}`);
    const status = await agent.crm.signIn('hubspot');
    await agent.crm.syncContacts();
    printer.say(agent.label, 'CRM', `signed in to HubSpot (portal ${status.account ?? '?'}) in the browser; ${agent.core.contacts.size} contacts synced`, 'good');
  }

  if (!once) {
    const first = agents.values().next().value!;
    printer.note(`Building ${first.core.agent?.name}'s window for the browser…`, 'dim');
    agentWindow = await serveAgentWindow({
      agent: first,
      outDir: join(dataDir, 'window'),
      clientIds: { hubspot: HUBSPOT_SIM_CLIENT.clientId },
      openExternal: async (url) => (printer.say(first.label, 'open', `the window asked to open ${url}`), true),
    });
    printer.heading(`${first.core.agent?.name}'s window (what the tray app shows): open ${agentWindow.url}`);
  }

  printer.heading('Calls. Times are ms since the PBX started the call (or the agent clicked), so a POP line shows the screen-pop latency.');
  const ctx: SceneContext = { stage, printer, agents, crm: true, timeoutMs: 15_000 };
  const failed: string[] = [];
  let checks = 0;
  for (const scene of SCRIPTED_SCENES) {
    const result = await scene(ctx);
    checks += result.checks;
    failed.push(...result.failed);
  }
  printer.heading(failed.length === 0 ? `Scripted calls done: all ${checks} checks passed.` : `Scripted calls done: ${failed.length} of ${checks} checks FAILED.`);
  if (once) return failed.length === 0 ? 0 : 1;

  printer.note('Now a call every few seconds. Ctrl-C to stop.', 'dim');
  for (const { title, script } of endlessCalls()) {
    await sleep(CALL_EVERY_MS);
    if (stopping) break;
    printer.startScene(title);
    await stage.pbxSim.placeCall(script);
  }
  return 0;
}

main().then(
  (code) => (stopping ? undefined : shutdown(code)),
  (err: unknown) => {
    if (stopping) return; // Ctrl-C closed what a scene was using
    process.stderr.write(`demo failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    void shutdown(1);
  },
);
