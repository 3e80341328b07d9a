import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('reads the request deadlines and the per-address cap, refusing headers that may outlast their request', () => {
    const env = { RINGBRIDGE_REQUEST_TIMEOUT_MS: '5000', RINGBRIDGE_HEADERS_TIMEOUT_MS: '2000', RINGBRIDGE_KEEP_ALIVE_TIMEOUT_MS: '65000', RINGBRIDGE_MAX_CONNECTIONS_PER_ADDRESS: '64' };
    expect(loadConfig(env).connections).toEqual({ requestTimeoutMs: 5_000, headersTimeoutMs: 2_000, keepAliveTimeoutMs: 65_000, maxConnectionsPerAddress: 64 });
    expect(() => loadConfig({ RINGBRIDGE_REQUEST_TIMEOUT_MS: '5000', RINGBRIDGE_HEADERS_TIMEOUT_MS: '6000' })).toThrow(/RINGBRIDGE_HEADERS_TIMEOUT_MS: must not exceed/);
    expect(() => loadConfig({ RINGBRIDGE_REQUEST_TIMEOUT_MS: '0' })).toThrow(/RINGBRIDGE_REQUEST_TIMEOUT_MS/);
    expect(() => loadConfig({ RINGBRIDGE_MAX_CONNECTIONS_PER_ADDRESS: '0' })).toThrow(/RINGBRIDGE_MAX_CONNECTIONS_PER_ADDRESS/);
  });

  it('has working defaults', () => {
    expect(loadConfig({})).toEqual({
      dataDir: './.data', port: 8080, host: '0.0.0.0', publicUrl: 'http://localhost:8080',
      redisUrl: null, databaseUrl: null, redisRequireFsync: null, callControlLeaseMs: 15_000, retentionDays: 7, auditRetentionDays: 90, masterKey: null, logLevel: 'info', metricsToken: null, trustProxy: [],
      connections: { requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 72_000, maxConnectionsPerAddress: 512 },
      fanout: { frameRate: 100, frameBurst: 1_000, maxSessionsPerDevice: 2 },
    });
  });

  it('reads the agent connection limits and refuses ones that would disable them', () => {
    const env = { RINGBRIDGE_AGENT_FRAME_RATE: '20', RINGBRIDGE_AGENT_FRAME_BURST: '50', RINGBRIDGE_AGENT_SESSIONS_PER_DEVICE: '1' };
    expect(loadConfig(env).fanout).toEqual({ frameRate: 20, frameBurst: 50, maxSessionsPerDevice: 1 });
    for (const [name, bad] of [['RINGBRIDGE_AGENT_FRAME_RATE', '0'], ['RINGBRIDGE_AGENT_FRAME_BURST', 'lots'], ['RINGBRIDGE_AGENT_SESSIONS_PER_DEVICE', '-1']] as const) {
      expect(() => loadConfig({ [name]: bad }), name).toThrow(new RegExp(name));
    }
  });

  it('reads the Call Control lease TTL and refuses one too short to renew', () => {
    expect(loadConfig({ RINGBRIDGE_CALL_CONTROL_LEASE_MS: '900' }).callControlLeaseMs).toBe(900);
    expect(() => loadConfig({ RINGBRIDGE_CALL_CONTROL_LEASE_MS: '50' })).toThrow(/RINGBRIDGE_CALL_CONTROL_LEASE_MS/);
  });

  it('reads every variable', () => {
    const key = randomBytes(32);
    const config = loadConfig({
      RINGBRIDGE_DATA_DIR: '/var/lib/rb', RINGBRIDGE_PORT: '9000', RINGBRIDGE_HOST: '127.0.0.1',
      RINGBRIDGE_PUBLIC_URL: 'https://bus.example.com/', RINGBRIDGE_REDIS_URL: 'redis://127.0.0.1:6379',
      RINGBRIDGE_RETENTION_DAYS: '30', RINGBRIDGE_MASTER_KEY: key.toString('base64'), RINGBRIDGE_LOG_LEVEL: 'warn',
      RINGBRIDGE_AUDIT_RETENTION_DAYS: '365',
    });
    expect(config).toMatchObject({ port: 9000, publicUrl: 'https://bus.example.com', redisUrl: 'redis://127.0.0.1:6379', retentionDays: 30, auditRetentionDays: 365, logLevel: 'warn' });
    expect(config.masterKey).toEqual(key);
  });

  it('reads a PostgreSQL database URL (unset: SQLite) and refuses anything else without echoing it', () => {
    expect(loadConfig({}).databaseUrl).toBeNull();
    for (const url of ['postgres://rb:s3cret@db.internal:5432/ringbridge', 'postgresql://db.internal/ringbridge?sslmode=require']) {
      expect(loadConfig({ RINGBRIDGE_DATABASE_URL: url }).databaseUrl).toBe(url);
    }
    for (const bad of ['mysql://rb:s3cret@db/rb', 'db.internal:5432', 'postgres//rb:s3cret@db']) {
      expect(() => loadConfig({ RINGBRIDGE_DATABASE_URL: bad }), bad).toThrow(/RINGBRIDGE_DATABASE_URL/);
      expect(() => loadConfig({ RINGBRIDGE_DATABASE_URL: bad }), bad).not.toThrow(/s3cret/);
    }
  });

  it('reads trusted proxies as addresses, CIDRs or range names, and refuses a hop count', () => {
    expect(loadConfig({ RINGBRIDGE_TRUST_PROXY: '10.0.0.0/8, loopback,2001:db8::1' }).trustProxy).toEqual(['10.0.0.0/8', 'loopback', '2001:db8::1']);
    for (const bad of ['1', '10.0.0.0/33', 'proxy.example.com', '10.0.0.1/8/2']) {
      expect(() => loadConfig({ RINGBRIDGE_TRUST_PROXY: bad }), bad).toThrow(/RINGBRIDGE_TRUST_PROXY/);
    }
  });

  it('names bad variables without echoing secret values', () => {
    const badKey = 'c2hvcnQ=';
    let error: unknown;
    try {
      loadConfig({ RINGBRIDGE_PORT: 'eighty', RINGBRIDGE_MASTER_KEY: badKey, RINGBRIDGE_PUBLIC_URL: 'ftp://x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toMatch(/RINGBRIDGE_PORT/);
    expect(message).toMatch(/RINGBRIDGE_MASTER_KEY/);
    expect(message).toMatch(/RINGBRIDGE_PUBLIC_URL/);
    expect(message).not.toContain(badKey);
  });
});
