/**
 * The workers' database connections are terminated mid-run (pg_terminate_backend), twice; the run
 * still ends with every saga finished and every order consistent in the participants' ledger.
 */
import { randomBytes } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, runCli, runCliJson, spawnCli, type CliResult } from "../support/cli-process.js";
import { checkLedgerAgainstStatuses, countTerminal, waitFor, type LedgerEntry } from "../support/fleet-checks.js";
import { createTestSchema, withClient, type TestSchema } from "../support/postgres.js";

const ORDERS = 600;

let schema: TestSchema;
beforeAll(async () => {
  schema = await createTestSchema("connloss");
});
afterAll(async () => {
  await schema.drop();
});

/** Terminates every backend of this run's workers (found by their application_name); returns how many. */
async function terminateWorkerConnections(url: string, applicationName: string): Promise<number> {
  return withClient(url, async (client) => {
    const result = await client.query<{ terminated: boolean }>(
      "SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()",
      [applicationName],
    );
    return result.rows.filter((row) => row.terminated).length;
  });
}

describe("losing the database connections mid-run", () => {
  it("ends consistent after the workers' connections are terminated twice", async () => {
    const applicationName = `connloss_${randomBytes(4).toString("hex")}`;
    const url = new URL(schema.url);
    url.searchParams.set("application_name", applicationName);
    const db = ["--db", url.toString(), "--schema", schema.schema];
    const enqueued = await runCli(["demo", ...db, "--orders", String(ORDERS), "--failure-rate", "0.3", "--seed", "5", "--enqueue-only"]);
    expect(enqueued.code, enqueued.stderr).toBe(0);

    const workers: Array<{ child: ChildProcess; done: Promise<CliResult> }> = [];
    for (const name of ["c1", "c2"]) {
      const child = spawnCli(["worker", ...db, "--name", name, "--concurrency", "16", "--lease-ms", "1000", "--step-delay-ms", "20", "--poll-ms", "200"]);
      workers.push({ child, done: collect(child) });
    }
    let terminated = 0;
    try {
      await waitFor(async () => (await countTerminal(schema)) >= 100, 90_000, "100 sagas to end");
      terminated += await terminateWorkerConnections(schema.url, applicationName);
      await waitFor(async () => (await countTerminal(schema)) >= 300, 90_000, "300 sagas to end");
      terminated += await terminateWorkerConnections(schema.url, applicationName);
      await waitFor(async () => (await countTerminal(schema)) === ORDERS, 120_000, "every saga to end");
    } finally {
      for (const { child } of workers) if (child.exitCode === null) child.kill("SIGTERM");
    }
    // Each worker holds pooled connections plus a listener; both rounds must have cut some.
    expect(terminated).toBeGreaterThanOrEqual(4);
    for (const { done } of workers) {
      const result = await done;
      expect(result.code, result.stderr).toBe(0);
    }

    const ledger = await runCliJson<LedgerEntry[]>(["demo", "ledger", ...db, "--json"]);
    expect(ledger).toHaveLength(ORDERS);
    const statuses = await withClient(schema.url, async (client) => {
      const rows = await client.query<{ idempotency_key: string; status: string }>(`SELECT idempotency_key, status FROM "${schema.schema}".saga_instances`);
      return new Map(rows.rows.map((row) => [row.idempotency_key, row.status]));
    });
    expect(checkLedgerAgainstStatuses(ledger, statuses)).toEqual([]);
  }, 240_000);
});
