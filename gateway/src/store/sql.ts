/**
 * One small SQL interface over the two databases the gateway runs on: PostgreSQL through `pg` (several
 * gateway instances may share one) and PGlite, the same Postgres compiled to WebAssembly, embedded in
 * the process (the default when no database URL is configured; one process per data directory).
 * Both run the same SQL, so the store is written once.
 *
 * Values cross this boundary normalised: bytea as `Uint8Array`, numeric and bigint columns as the text
 * the query casts them to (`x::text`), so no u64 is ever squeezed through a JS number.
 */
import { readdir, readFile } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { GatewayError } from "../errors.ts";

export type SqlParam = string | number | bigint | boolean | Uint8Array | null;
export type Row = Record<string, unknown>;

export interface SqlClient {
  query<R extends Row = Row>(sql: string, params?: readonly SqlParam[]): Promise<R[]>;
  /** Runs `fn` in one transaction; rolls back if it throws. */
  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  readonly kind: "postgres" | "pglite";
}

function normalise(v: unknown): unknown {
  if (v instanceof Uint8Array) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return v;
}

function normaliseRows<R extends Row>(rows: readonly Row[]): R[] {
  return rows.map((r) => {
    const out: Row = {};
    for (const [k, v] of Object.entries(r)) out[k] = normalise(v);
    return out as R;
  });
}

function unavailable(cause: unknown, what: string): GatewayError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new GatewayError("UNAVAILABLE", `the store is unavailable: ${what}: ${detail}`, { cause });
}

/** PostgreSQL over a `pg` pool. bigint params are sent as text; bytes as Buffers. */
export class PostgresClient implements SqlClient {
  readonly kind = "postgres";
  readonly #pool: pg.Pool;

  constructor(url: string, maxConnections = 8) {
    this.#pool = new pg.Pool({ connectionString: url, max: maxConnections });
    // An idle client losing its connection must not crash the process; the next query reports it.
    this.#pool.on("error", () => {});
  }

  static #param(p: SqlParam): unknown {
    if (typeof p === "bigint") return p.toString();
    if (p instanceof Uint8Array) return Buffer.from(p.buffer, p.byteOffset, p.byteLength);
    return p;
  }

  async query<R extends Row = Row>(sql: string, params: readonly SqlParam[] = []): Promise<R[]> {
    try {
      const res = await this.#pool.query(sql, params.map(PostgresClient.#param));
      return normaliseRows<R>(res.rows);
    } catch (cause) {
      throw isConnectionError(cause) ? unavailable(cause, "query") : cause;
    }
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (cause) {
      throw unavailable(cause, "connect");
    }
    const tx: SqlClient = {
      kind: "postgres",
      query: async <R extends Row = Row>(sql: string, params: readonly SqlParam[] = []) =>
        normaliseRows<R>((await client.query(sql, params.map(PostgresClient.#param))).rows),
      transaction: (inner) => inner(tx),
      close: async () => {},
    };
    try {
      await client.query("BEGIN");
      const out = await fn(tx);
      await client.query("COMMIT");
      return out;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => {});
      throw isConnectionError(e) ? unavailable(e, "transaction") : e;
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === "string" && (code.startsWith("E") || code.startsWith("08") || code === "57P01");
}

/** PGlite in this process; `dataDir` null keeps everything in memory. */
export class PgliteClient implements SqlClient {
  readonly kind = "pglite";
  readonly #db: PGlite;

  private constructor(db: PGlite) {
    this.#db = db;
  }

  static async open(dataDir: string | null): Promise<PgliteClient> {
    const db = dataDir ? new PGlite(dataDir) : new PGlite();
    await db.waitReady;
    return new PgliteClient(db);
  }

  async query<R extends Row = Row>(sql: string, params: readonly SqlParam[] = []): Promise<R[]> {
    const res = await this.#db.query<Row>(sql, params.map((p) => (typeof p === "bigint" ? p.toString() : p)) as unknown[]);
    return normaliseRows<R>(res.rows);
  }

  async transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return this.#db.transaction(async (t) => {
      const tx: SqlClient = {
        kind: "pglite",
        query: async <R extends Row = Row>(sql: string, params: readonly SqlParam[] = []) =>
          normaliseRows<R>((await t.query<Row>(sql, params.map((p) => (typeof p === "bigint" ? p.toString() : p)) as unknown[])).rows),
        transaction: (inner) => inner(tx),
        close: async () => {},
      };
      return fn(tx);
    });
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}

const MIGRATIONS_DIR = new URL("../../migrations/", import.meta.url);
/** Any constant: serialises migrations across gateway instances starting at once. */
const MIGRATION_LOCK = 0x5348414e;

/**
 * Applies the numbered `.sql` files under `gateway/migrations/` that this database has not seen, each
 * in its own transaction under an advisory lock, so several instances starting together apply each
 * once. Returns the versions applied now.
 */
export async function migrate(db: SqlClient): Promise<number[]> {
  await db.query(
    "CREATE TABLE IF NOT EXISTS shandu_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
  );
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d+_.*\.sql$/.test(f)).sort();
  const applied: number[] = [];
  for (const file of files) {
    const version = Number.parseInt(file, 10);
    const sql = await readFile(new URL(file, MIGRATIONS_DIR), "utf8");
    const done = await db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
      const seen = await tx.query("SELECT 1 FROM shandu_migrations WHERE version = $1", [version]);
      if (seen.length > 0) return false;
      for (const statement of splitStatements(sql)) await tx.query(statement);
      await tx.query("INSERT INTO shandu_migrations (version) VALUES ($1)", [version]);
      return true;
    });
    if (done) applied.push(version);
  }
  return applied;
}

/** Splits a migration file on `;` at line ends (the files keep one statement per `;`, no functions). */
function splitStatements(sql: string): string[] {
  return sql
    .split("\n")
    .filter((l) => !l.trimStart().startsWith("--"))
    .join("\n")
    .split(/;\s*$/m)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export interface StoreConfig {
  /** `postgres://…`; absent → the embedded PGlite. */
  url?: string | undefined;
  /** PGlite data directory; absent → in memory (lost on exit). */
  dataDir?: string | undefined;
}

/** Opens the configured database and brings its schema up to date. */
export async function openSql(config: StoreConfig): Promise<SqlClient> {
  const db = config.url ? new PostgresClient(config.url) : await PgliteClient.open(config.dataDir ?? null);
  try {
    await migrate(db);
  } catch (e) {
    await db.close().catch(() => {});
    throw e instanceof GatewayError ? e : unavailable(e, "migration");
  }
  return db;
}
