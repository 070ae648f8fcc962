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

  it("examples/deadlines/approval-deadline.ts: the approval never comes, the deadline passes, the seat is released", async () => {
    const result = await runExample("examples/deadlines/approval-deadline.ts");
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/: seat held, waiting for approval until \d{4}-/);
    expect(lines[1]).toBe("  released seat 14C");
    const [, after] = /: compensated; deadline passed (\d+) ms after the start; cancelled by deadline$/.exec(lines[2] ?? "") ?? [];
    expect(Number(after)).toBeGreaterThanOrEqual(500);
  });

  it("examples/versioning/move-to-v2.ts: a version-2 worker leaves a version-1 saga alone until it is moved onto version 2", async () => {
    const result = await runExample("examples/versioning/move-to-v2.ts");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim().split("\n")).toEqual([
      "order-1: version 1, waiting for approval",
      "worker of version 2 says: 1 unfinished saga(s) of order@1 wait for a worker that runs that version; this one does not, so it leaves them alone",
      "order-1: moved to version 2, steps pay (succeeded), approve (running), fraud-check (pending), ship (pending)",
      'order-1: completed, {"shipped":"by version 2"}',
    ]);
  });
});
