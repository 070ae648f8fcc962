// The runnable examples the docs point to (examples/*/): each runs as a reader would run it,
// and says what the docs say it does.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { collect, REPO_ROOT } from "../support/cli-process.js";

function runExample(path: string): ReturnType<typeof collect> {
  return collect(spawn(process.execPath, ["--import", "tsx", path], { cwd: REPO_ROOT, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] }));
}

describe("runnable examples", () => {
  it("examples/events/expense-approval.ts: an event while waiting, an event before waiting, and a duplicate", async () => {
    const result = await runExample("examples/events/expense-approval.ts");
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/: waiting for manager-approved$/);
    expect(lines[1]).toMatch(/: completed, paid \{"paid":12000,"approvedBy":"bo"\}$/);
    expect(lines[2]).toMatch(/: approved while still booking$/);
    expect(lines[3]).toMatch(/: completed, paid \{"paid":4500,"approvedBy":"di"\}$/);
    expect(lines[4]).toBe('duplicate delivery: {"duplicate":true}');
  });

  it("examples/timers/trip-reminder.ts: sleeps through a restart and wakes on time", async () => {
    const result = await runExample("examples/timers/trip-reminder.ts");
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/booked; sleeping through the cool-off; closing this orchestrator$/);
    const [, seconds] = /^(\d+\.\d) s: completed; reminder \{"told":"ana","booking":"T-ana"/.exec(lines[1] ?? "") ?? [];
    expect(Number(seconds)).toBeGreaterThanOrEqual(2);
    expect(lines[2]).toBe("slept 2 times, recovered 0 times");
  });

  it("examples/repair/refund-by-hand.ts: retry, skip and resolve three failed sagas", async () => {
    const result = await runExample("examples/repair/refund-by-hand.ts");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split("\n").slice(3)).toEqual([
      "o-1: retried → compensated",
      "o-2: refund skipped → compensated (charge compensation skipped)",
      "o-3: resolved → failed, resolved by ops:bo: settled with the customer by phone",
    ]);
  });
});
