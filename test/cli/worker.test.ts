import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect, runCli, spawnCli } from "../support/cli-process.js";

const dir = mkdtempSync(join(tmpdir(), "sagaflow-worker-"));
const db = join(dir, "demo.db");

beforeAll(async () => {
  expect((await runCli(["demo", "--db", db, "--quiet"])).code).toBe(0);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("sagaflow worker", () => {
  it("with --until-idle exits 0 once nothing is left, reporting the counts", async () => {
    const result = await runCli(["worker", "--db", db, "--until-idle", "--name", "idle-test"]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe("worker idle-test stopped: 0 unfinished, 1 completed, 1 compensated, 0 failed\n");
  });

  it.each(["SIGTERM", "SIGINT"] as const)("runs until %s and then closes cleanly with exit 0", async (signal) => {
    const child = spawnCli(["worker", "--db", db, "--name", "signal-test"]);
    const exited = collect(child);
    await new Promise<void>((resolve) => {
      let seen = "";
      child.stderr?.on("data", (chunk: Buffer | string) => {
        seen += String(chunk);
        if (seen.includes("running on")) resolve();
      });
    });
    child.kill(signal);
    const result = await exited;
    expect(result.code, `${result.signal} ${result.stderr}`).toBe(0);
    expect(result.stdout).toContain("worker signal-test stopped: 0 unfinished");
  });
});
