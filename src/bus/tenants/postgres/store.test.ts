import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from '../../../../test/support/postgres-server.js';
import { describeTenantStorage } from '../../../../test/support/tenant-storage-contract.js';
import { createPostgresAuditLog } from '../../audit/postgres.js';
import { openPostgres, type PgPool } from '../../postgres.js';
import { MIGRATIONS } from './schema.js';
import { createPostgresTenantStore } from './store.js';

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
}, 60_000);

// Errors of idle pooled connections. The server's own fast shutdown at the end (57P01, "terminating
// connection due to administrator command") may reach a connection still closing; anything else is
// a failure.
const poolErrors: Error[] = [];
const ADMIN_SHUTDOWN = '57P01';
afterAll(async () => {
  expect(poolErrors).toEqual([]);
  await server?.stop();
});
const open = (url: string) =>
  openPostgres({
    url,
    migrations: MIGRATIONS,
    onError: (err) => {
      if ((err as Error & { code?: string }).code !== ADMIN_SHUTDOWN) poolErrors.push(err);
    },
    max: 4,
  });

describeTenantStorage('PostgreSQL', async () => {
  const url = await server.createDatabase();
  // Each open is its own pool, as another bus node or the admin CLI would have.
  const pools: PgPool[] = [];
  const pool = async () => {
    const p = await open(url);
    pools.push(p);
    return p;
  };
  const reader = await pool();
  return {
    async open(opts) {
      return createPostgresTenantStore({ pool: await pool(), ...opts });
    },
    async openAudit(opts) {
      return createPostgresAuditLog(await pool(), opts);
    },
    async rows(table) {
      return (await reader.query(`SELECT * FROM ${pg.escapeIdentifier(table)}`)).rows;
    },
    async close() {
      for (const p of pools) await p.end();
    },
  };
});

describe('PostgreSQL schema migrations', () => {
  it('applies each step once when several nodes start at the same moment', async () => {
    const url = await server.createDatabase();
    const pools = await Promise.all(Array.from({ length: 5 }, () => open(url)));
    try {
      const { rows } = await pools[0]!.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
      const store = createPostgresTenantStore({ pool: pools[1]!, masterKey: randomBytes(32) });
      expect((await store.createTenant({ name: 'Acme' })).name).toBe('Acme');
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('refuses a database written by a newer release, and leaves it as it was', async () => {
    const url = await server.createDatabase();
    const first = await open(url);
    await first.query('INSERT INTO schema_migrations (version) VALUES (99)');
    try {
      await expect(open(url)).rejects.toThrow(/schema version 99, newer than this program knows/);
      expect((await first.query('SELECT count(*)::int AS n FROM schema_migrations')).rows[0]).toEqual({ n: MIGRATIONS.length + 1 });
    } finally {
      await first.end();
    }
  });
});
