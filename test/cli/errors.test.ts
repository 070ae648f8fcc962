import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, type CliResult } from "../support/cli-process.js";

const dir = mkdtempSync(join(tmpdir(), "sagaflow-cli-errors-"));
const db = join(dir, "demo.db");
const garbage = join(dir, "garbage.db");
const missing = join(dir, "missing.db");

beforeAll(async () => {
  const result = await runCli(["demo", "--db", db, "--quiet"]);
  expect(result.code).toBe(0);
  writeFileSync(garbage, "this is not a database, just text that happens to be in a .db file\n".repeat(100));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file's content and modification time, to prove a command changed nothing. */
function fingerprint(path: string): { bytes: string; mtimeMs: number } {
  return { bytes: readFileSync(path).toString("base64"), mtimeMs: statSync(path).mtimeMs };
}

function expectOneLineError(result: CliResult, exitCode: number, pattern: RegExp): void {
  expect(result.code).toBe(exitCode);
  expect(result.stdout).toBe("");
  const lines = result.stderr.split("\n").filter((line) => line !== "");
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^sagaflow: /);
  expect(lines[0]).toMatch(pattern);
}

describe("sagaflow errors", () => {
  it("refuses an unknown saga id with one line and leaves the database untouched", async () => {
    const before = fingerprint(db);
    expectOneLineError(await runCli(["show", "no-such-saga", "--db", db]), 1, /no saga with id "no-such-saga"/);
    expectOneLineError(await runCli(["show", "no-such-saga", "--db", db, "--json"]), 1, /no saga with id/);
    expect(fingerprint(db)).toEqual(before);
  });

  it.each([
    ["list", ["list", "--db", missing]],
    ["show", ["show", "x", "--db", missing]],
    ["demo ledger", ["demo", "ledger", "--db", missing]],
    ["worker", ["worker", "--db", missing, "--until-idle"]],
  ])("%s on a missing file is an error and creates no file", async (_name, args) => {
    expectOneLineError(await runCli(args), 1, /missing\.db/);
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(`${missing}-wal`)).toBe(false);
  });

  it.each([
    ["list", ["list", "--db", garbage]],
    ["show", ["show", "x", "--db", garbage]],
    ["demo ledger", ["demo", "ledger", "--db", garbage]],
    ["worker", ["worker", "--db", garbage, "--until-idle"]],
    ["demo", ["demo", "--db", garbage]],
  ])("%s on a file that is not a database is a one-line error that leaves it as it was", async (_name, args) => {
    const before = fingerprint(garbage);
    expectOneLineError(await runCli(args), 1, /garbage\.db/);
    expect(fingerprint(garbage)).toEqual(before);
  });

  it.concurrent.each([
    [["demo", "--orders", "-3"], /--orders/],
    [["demo", "--orders", "many"], /--orders/],
    [["demo", "--failure-rate", "2"], /--failure-rate/],
    [["demo", "--step-delay-ms", "-1"], /--step-delay-ms/],
    [["demo", "--concurrency", "0"], /--concurrency/],
    [["demo", "--lease-ms", "5"], /--lease-ms/],
    [["demo", "--log-level", "loud"], /--log-level/],
    [["list", "--db", "x.db", "--status", "bogus"], /--status/],
    [["list", "--db", "x.db", "--limit", "0"], /--limit/],
    [["list", "--db", "x.db", "--colour"], /unknown option '--colour'/],
    [["show", "--db", "x.db"], /missing required argument 'id'/],
    [["lst"], /unknown command 'lst'.*list/],
    [["worker", "--db", "x.db", "--concurrency", "1.5"], /--concurrency/],
  ])("%j is a usage error: exit 2, one line", async (args, pattern) => {
    expectOneLineError(await runCli(args), 2, pattern);
  });

  it("refuses a command without --db when DATABASE_URL is unset too", async () => {
    expectOneLineError(await runCli(["list"], { DATABASE_URL: "" }), 2, /--db is required.*DATABASE_URL/);
    expectOneLineError(await runCli(["worker", "--until-idle"], { DATABASE_URL: "" }), 2, /--db is required/);
  });

  it.concurrent.each([
    [["list", "--db", "x.db", "--schema", "s"], /--schema applies to PostgreSQL only/],
    [["list", "--db", "postgres://u@localhost/db", "--schema", "Bad-Name"], /--schema/],
    [["demo", "--orders", "5", "--enqueue-only", "--schema", "s"], /--schema applies to PostgreSQL only/],
    [["demo", "--enqueue-only"], /--enqueue-only needs --orders/],
    [["worker", "--db", "x.db", "--grace-ms", "-1"], /--grace-ms/],
  ])("%j is a usage error too: exit 2, one line", async (args, pattern) => {
    expectOneLineError(await runCli(args, { DATABASE_URL: "" }), 2, pattern);
  });

  it("refuses a DATABASE_URL that is not a PostgreSQL URL", async () => {
    expectOneLineError(await runCli(["list"], { DATABASE_URL: "mysql://u:secret@host/db" }), 2, /DATABASE_URL must be a postgres/);
  });

  it("changes nothing when a flag is refused", async () => {
    const target = join(dir, "never.db");
    expectOneLineError(await runCli(["demo", "--db", target, "--orders", "10", "--failure-rate", "-0.1"]), 2, /--failure-rate/);
    expect(existsSync(target)).toBe(false);
  });

  it("refuses a bad SAGAFLOW_LOG_LEVEL as a usage error", async () => {
    expectOneLineError(await runCli(["demo", "--quiet", "--db", join(dir, "env.db")], { SAGAFLOW_LOG_LEVEL: "chatty" }), 2, /SAGAFLOW_LOG_LEVEL/);
  });

  it("prints help on --help and exits 0", async () => {
    const result = await runCli(["list", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Usage: sagaflow list");
  });
});
