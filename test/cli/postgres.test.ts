/**
 * The CLI on PostgreSQL: enqueue without running, a worker that finishes the queue, inspection
 * that never creates anything, and connection failures that name the host but not the password.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ListItemView, ShowView } from "../../src/cli/views.js";
import type { LedgerEntry } from "../../src/examples/order/ledger.js";
import { runCli, runCliJson, type CliResult } from "../support/cli-process.js";
import { checkLedgerAgainstStatuses } from "../support/fleet-checks.js";
import { createTestSchema, withClient, type TestSchema } from "../support/postgres.js";

const ORDERS = 50;

let schema: TestSchema;
let empty: TestSchema;
let db: string[];

beforeAll(async () => {
  schema = await createTestSchema("cli_pg");
  empty = await createTestSchema("cli_pg_empty");
  db = ["--db", schema.url, "--schema", schema.schema];
});

afterAll(async () => {
  await schema.drop();
  await empty.drop();
});

function expectOneLineError(result: CliResult, exitCode: number, pattern: RegExp): string {
  expect(result.code, result.stderr).toBe(exitCode);
  expect(result.stdout).toBe("");
  const lines = result.stderr.split("\n").filter((line) => line !== "");
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  return lines[0] ?? "";
}

async function schemaExists(name: string): Promise<boolean> {
  return withClient(schema.url, async (client) => (await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [name])).rowCount === 1);
}

describe("sagaflow on PostgreSQL", () => {
  const enqueue = (): Promise<CliResult> => runCli(["demo", ...db, "--orders", String(ORDERS), "--failure-rate", "0.4", "--seed", "5", "--enqueue-only"]);

  it("enqueues orders without running them, and creates none twice", async () => {
    const first = await enqueue();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`^created\\s+${ORDERS}$`, "m"));
    expect(first.stdout).toMatch(/^existing\s+0$/m);
    // The hints name the database again, without a password.
    expect(first.stdout).toContain(`--schema ${schema.schema}`);
    expect(first.stdout).not.toMatch(/postgres(ql)?:\/\/[^\s/@]*:[^\s/@]*@/);

    const sagas = await runCliJson<ListItemView[]>(["list", ...db, "--json", "--limit", "1000"]);
    expect(sagas).toHaveLength(ORDERS);
    expect(new Set(sagas.map((saga) => saga.status))).toEqual(new Set(["running"]));
    // Nothing ran: the participants' tables exist, and hold nothing.
    expect(await runCliJson<LedgerEntry[]>(["demo", "ledger", ...db, "--json"])).toEqual([]);

    const again = await enqueue();
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^created\s+0$/m);
    expect(again.stdout).toMatch(new RegExp(`^existing\\s+${ORDERS}$`, "m"));
  });

  it("runs them all with a worker, whose name is in every entry it wrote", async () => {
    const worker = await runCli(["worker", ...db, "--until-idle", "--name", "w-test"]);
    expect(worker.code, worker.stderr).toBe(0);
    expect(worker.stdout).toMatch(/^worker w-test stopped: 0 unfinished, \d+ completed, \d+ compensated, 0 failed$/m);
    // One structured line at start and one at stop.
    const logs = worker.stderr
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logs.find((log) => log.msg === "worker started")).toMatchObject({ workerId: "w-test", concurrency: 32, leaseMs: 15_000 });
    expect(String(logs.find((log) => log.msg === "worker started")?.store)).toContain(schema.schema);
    expect(logs.find((log) => log.msg === "worker stopped")).toMatchObject({ workerId: "w-test", unfinished: 0 });

    const sagas = await runCliJson<ListItemView[]>(["list", ...db, "--json", "--limit", "1000"]);
    expect(sagas).toHaveLength(ORDERS);
    const ledger = await runCliJson<LedgerEntry[]>(["demo", "ledger", ...db, "--json"]);
    expect(ledger).toHaveLength(ORDERS);
    expect(checkLedgerAgainstStatuses(ledger, new Map(sagas.map((saga) => [saga.idempotencyKey ?? "", saga.status])))).toEqual([]);
    expect(sagas.filter((saga) => saga.status === "compensated").length).toBeGreaterThan(0);
    for (const entry of ledger) expect(Object.values(entry.bookings).every((n) => n <= 1)).toBe(true);

    const saga = sagas[0];
    const view = await runCliJson<ShowView>(["show", saga?.id ?? "", ...db, "--json"]);
    expect(view.id).toBe(saga?.id);
    const written = view.history.filter((entry) => entry.workerId !== undefined && entry.workerId !== null);
    expect(written.length).toBeGreaterThan(2);
    expect(new Set(written.map((entry) => entry.workerId))).toEqual(new Set(["w-test"]));
  });

  it("takes DATABASE_URL when --db is not given", async () => {
    const result = await runCli(["list", "--schema", schema.schema, "--json", "--status", "completed,compensated", "--limit", "1000"], { DATABASE_URL: schema.url });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toHaveLength(ORDERS);
  });

  it.each([
    ["list", ["list"]],
    ["show", ["show", "some-id"]],
  ])("%s on a schema without Sagaflow's tables says so in one line and creates nothing", async (_name, args) => {
    const line = expectOneLineError(await runCli([...args, "--db", empty.url, "--schema", empty.schema]), 1, /no Sagaflow tables/);
    expect(line).toContain(empty.schema);
    expect(await schemaExists(empty.schema)).toBe(false);
  });

  it("worker on a schema nobody used yet creates it, as the first worker of a fleet would", async () => {
    const fresh = await createTestSchema("cli_pg_fresh");
    try {
      const result = await runCli(["worker", "--db", fresh.url, "--schema", fresh.schema, "--until-idle", "--name", "first"]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe("worker first stopped: 0 unfinished, 0 completed, 0 compensated, 0 failed\n");
      expect(await runCliJson<ListItemView[]>(["list", "--db", fresh.url, "--schema", fresh.schema, "--json"])).toEqual([]);
    } finally {
      await fresh.drop();
    }
  });

  it("demo --enqueue-only without --db enqueues into DATABASE_URL", async () => {
    const fresh = await createTestSchema("cli_pg_env");
    try {
      const result = await runCli(["demo", "--schema", fresh.schema, "--orders", "3", "--enqueue-only"], { DATABASE_URL: fresh.url });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^created\s+3$/m);
      expect(await runCliJson<ListItemView[]>(["list", "--db", fresh.url, "--schema", fresh.schema, "--json"])).toHaveLength(3);
    } finally {
      await fresh.drop();
    }
  });

  it("demo ledger on a schema without the demo's tables creates nothing either", async () => {
    expectOneLineError(await runCli(["demo", "ledger", "--db", empty.url, "--schema", empty.schema]), 1, /holds no demo ledger/);
    expect(await schemaExists(empty.schema)).toBe(false);
  });

  it.each([
    ["list", ["list"]],
    ["worker", ["worker", "--until-idle"]],
    ["demo", ["demo", "--quiet"]],
    ["demo ledger", ["demo", "ledger"]],
  ])("%s on a server that does not answer: one line naming the host, never the password, exit 1", async (_name, args) => {
    const url = "postgres://someone:s3cret-Pa55@127.0.0.1:1/nowhere";
    const result = await runCli([...args, "--db", url]);
    const line = expectOneLineError(result, 1, /127\.0\.0\.1:1/);
    expect(line).toMatch(/cannot connect to PostgreSQL/);
    expect(result.stderr + result.stdout).not.toContain("s3cret-Pa55");
  });
});
