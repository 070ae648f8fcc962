/**
 * PostgreSQL for tests: the server the global setup found or started (test/support/global-setup.ts),
 * and a private schema per test file so files running in parallel never see each other's rows.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";

/** The URL of the run's PostgreSQL. Throws when no global setup provided one and `DATABASE_URL` is unset. */
export function postgresUrl(): string {
  const url = injectedUrl() ?? process.env.DATABASE_URL;
  if (url === undefined || url === "") {
    throw new Error("no PostgreSQL for this test: run it through vitest (test/support/global-setup.ts finds or starts one) or set DATABASE_URL");
  }
  return url;
}

/** A schema nobody uses yet (the store creates it) and how to drop it with everything in it. */
export interface TestSchema {
  url: string;
  schema: string;
  drop(): Promise<void>;
}

/**
 * Picks a fresh schema name `<prefix>_<random>`; `prefix` is lower-cased and stripped to what a
 * plain identifier allows. Nothing is created: the store under test does that.
 */
export function createTestSchema(prefix: string): Promise<TestSchema> {
  const url = postgresUrl();
  const clean = prefix.toLowerCase().replace(/[^a-z0-9_]/g, "_").slice(0, 40);
  const schema = `${/^[a-z_]/.test(clean) ? clean : `t_${clean}`}_${randomBytes(6).toString("hex")}`;
  const drop = async (): Promise<void> => {
    await withClient(url, (client) => client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
  };
  return Promise.resolve({ url, schema, drop });
}

/** Runs `work` on a connection of its own, closed afterwards: for raw SQL a test checks or breaks things with. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function injectedUrl(): string | undefined {
  try {
    return inject("postgresUrl");
  } catch {
    // Outside a vitest worker (a script a test spawned): fall back to DATABASE_URL.
    return undefined;
  }
}
