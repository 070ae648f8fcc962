import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { SagaState } from "../../src/index.js";

const dir = mkdtempSync(join(tmpdir(), "sagaflow-crash-loop-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runWorker(dbPath: string, start: boolean): ReturnType<typeof spawnSync> {
  return spawnSync(process.execPath, ["--import", "tsx", "test/fixtures/crash-loop-worker.ts", dbPath, ...(start ? ["start"] : [])], {
    encoding: "utf8",
    timeout: 30_000,
  });
}

describe("a step that kills its worker every time", () => {
  it("is parked as failed with reason recovery_limit after maxRecoveries recoveries, instead of looping", () => {
    const dbPath = join(dir, "sagas.db");
    const signals: Array<NodeJS.Signals | null> = [];
    let last = runWorker(dbPath, true);
    signals.push(last.signal);
    for (let run = 0; run < 8 && last.signal === "SIGKILL"; run++) {
      last = runWorker(dbPath, false);
      signals.push(last.signal);
    }
    // maxRecoveries is 3: the first run and three recoveries die, the fourth recovery parks it.
    expect(signals).toEqual(["SIGKILL", "SIGKILL", "SIGKILL", "SIGKILL", null]);
    expect(last.status).toBe(0);
    const [saga] = JSON.parse(String(last.stdout)) as SagaState[];
    expect(saga?.status).toBe("failed");
    expect(saga?.recoveries).toBe(4);
    expect(saga?.stop?.reason).toBe("recovery_limit");
    expect(saga?.outstanding).toEqual([{ step: "explode", phase: "action" }]);
    expect(saga?.steps[1]?.action.attempt).toBe(4);
  });
});
