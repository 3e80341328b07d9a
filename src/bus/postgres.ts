// The bus's PostgreSQL connection (RINGBRIDGE_DATABASE_URL): one pool per process, and the
// schema's versioned migrations, applied at start-up. Several nodes may start at once, so the
// migrations run under a session advisory lock: the first node applies them, the others wait and
// find them done. A database from a newer release (a version above ours) is refused, not touched.
import pg from 'pg';

/** One schema step: SQL run in its own transaction, recorded in schema_migrations with its number. */
export type PgMigration = string;

/** Arbitrary but fixed: the advisory lock every Ringbridge node takes around migrations. */
const MIGRATION_LOCK = 0x52_42_4d_47; // "RBMG"

export type PgPool = pg.Pool;

export interface OpenPostgresOptions {
  url: string;
  migrations: readonly PgMigration[];
  /** Errors of idle pooled connections (the server restarted, a network cut): logged, the pool reconnects on the next query. */
  onError: (err: Error) => void;
  /** Connections per process. Default 10. */
  max?: number;
}

export async function openPostgres(opts: OpenPostgresOptions): Promise<PgPool> {
  const pool = new pg.Pool({ connectionString: opts.url, max: opts.max ?? 10, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 });
  pool.on('error', opts.onError);
  try {
    await migrate(pool, opts.migrations);
  } catch (err) {
    await pool.end();
    throw err;
  }
  return pool;
}

async function migrate(pool: PgPool, migrations: readonly PgMigration[]): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
      const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
      const current = rows[0]?.version ?? 0;
      if (current > migrations.length) {
        throw new Error(`the database has schema version ${current}, newer than this program knows (${migrations.length}): run a newer Ringbridge`);
      }
      for (let version = current + 1; version <= migrations.length; version++) {
        await transaction(client, async () => {
          await client.query(migrations[version - 1]!);
          await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
        });
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}

async function transaction<T>(client: pg.PoolClient, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

/** Runs `work` in one transaction on one pooled connection. */
export async function inTransaction<T>(pool: PgPool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await transaction(client, () => work(client));
  } finally {
    client.release();
  }
}
