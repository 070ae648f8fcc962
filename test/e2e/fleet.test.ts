/**
 * A fleet of four worker processes on one PostgreSQL runs 2,000 demo orders while one worker is
 * SIGKILLed and another SIGSTOPped past its lease. Afterwards: every order is consistent in the
 * participants' ledger, no two workers' recorded attempts of one step overlap in time, writes are
 * fenced (epochs never go back in any saga's history), and the stopped worker's late writes were
 * rejected and recorded as such.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, runCli, runCliJson, spawnCli, type CliResult } from "../support/cli-process.js";
import { createTestSchema, withClient, type TestSchema } from "../support/postgres.js";
import { checkFleetHistory, checkLedgerAgainstStatuses, countTerminal, waitFor, type LedgerEntry } from "../support/fleet-checks.js";

const ORDERS = 2_000;
const LEASE_MS = 1_000;

let schema: TestSchema;
beforeAll(async () => {
  schema = await createTestSchema("fleet");
});
afterAll(async () => {
  await schema.drop();
});

describe("a fleet of four workers on PostgreSQL", () => {
  it("runs 2,000 orders consistently through a SIGKILL and a SIGSTOP past the lease", async () => {
    const db = ["--db", schema.url, "--schema", schema.schema];
    const enqueued = await runCli(["demo", ...db, "--orders", String(ORDERS), "--failure-rate", "0.3", "--seed", "11", "--enqueue-only"]);
    expect(enqueued.code, enqueued.stderr).toBe(0);

    const workers = new Map<string, { child: ChildProcess; done: Promise<CliResult> }>();
    for (const name of ["w1", "w2", "w3", "w4"]) {
      const child = spawnCli([
        "worker", ...db, "--name", name, "--concurrency", "16", "--lease-ms", String(LEASE_MS), "--step-delay-ms", "40", "--poll-ms", "200",
      ]);
      workers.set(name, { child, done: collect(child) });
    }
    const worker = (name: string): { child: ChildProcess; done: Promise<CliResult> } => {
      const found = workers.get(name);
      if (found === undefined) throw new Error(`no worker ${name}`);
      return found;
    };

    try {
      // Strike while every worker holds sagas mid-step.
      await waitFor(async () => (await countTerminal(schema)) >= 300, 90_000, "300 sagas to end");
      worker("w1").child.kill("SIGKILL");
      worker("w2").child.kill("SIGSTOP");
      // The others take over once the leases run out; then let the stopped one wake up and try to write.
      await new Promise((resolve) => setTimeout(resolve, 3 * LEASE_MS));
      worker("w2").child.kill("SIGCONT");
      await waitFor(async () => (await countTerminal(schema)) === ORDERS, 150_000, "every saga to end");
    } finally {
      for (const [name, { child }] of workers) {
        if (name === "w2") child.kill("SIGCONT");
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      }
    }
    const killed = await worker("w1").done;
    expect(killed.signal).toBe("SIGKILL");
    for (const name of ["w2", "w3", "w4"]) {
      const result = await worker(name).done;
      expect(result.code, `${name}: ${result.stderr}`).toBe(0);
    }

    const ledger = await runCliJson<LedgerEntry[]>(["demo", "ledger", ...db, "--json"]);
    expect(ledger).toHaveLength(ORDERS);
    const statuses = await withClient(schema.url, async (client) => {
      const rows = await client.query<{ idempotency_key: string; status: string }>(
        `SELECT idempotency_key, status FROM "${schema.schema}".saga_instances`,
      );
      return new Map(rows.rows.map((row) => [row.idempotency_key, row.status]));
    });
    expect(checkLedgerAgainstStatuses(ledger, statuses)).toEqual([]);

    const history = await checkFleetHistory(schema);
    expect(history.overlaps).toEqual([]);
    expect(history.epochRegressions).toEqual([]);
    // The stopped worker held sagas mid-step; its late commits were refused and are on record.
    expect(history.rejectedWritesBy.get("w2") ?? 0, "late writes of the stopped worker on record").toBeGreaterThan(0);
    // The killed worker's sagas were taken over, their running attempts re-run as in doubt.
    expect(history.inDoubt, "attempts found in doubt").toBeGreaterThan(0);
    expect(history.sagasRunByMoreThanOneWorker, "sagas taken over").toBeGreaterThan(0);
    expect(new Set(history.workers)).toEqual(new Set(["w1", "w2", "w3", "w4"]));
  }, 240_000);
});
