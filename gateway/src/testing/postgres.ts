/**
 * A fresh PostgreSQL database per test run on a real server (default: the local one on 127.0.0.1:5432
 * with trust auth; `SHANDU_TEST_POSTGRES_URL` names another), dropped afterwards. When no server answers,
 * `createTestDatabase` resolves to null and callers skip with {@link POSTGRES_SKIP_REASON}.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const POSTGRES_SKIP_REASON =
  "skipped: no PostgreSQL server at SHANDU_TEST_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

function adminUrl(): string {
  return process.env.SHANDU_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
}

export async function createTestDatabase(prefix = "shandu_test"): Promise<TestDatabase | null> {
  const admin = new pg.Client({ connectionString: adminUrl(), connectionTimeoutMillis: 2000 });
  try {
    await admin.connect();
  } catch {
    return null;
  }
  const name = `${prefix}_${Date.now()}_${randomBytes(4).toString("hex")}`;
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl() });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
