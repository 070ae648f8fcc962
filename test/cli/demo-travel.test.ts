import { describe, expect, it } from "vitest";
import { runCli } from "../support/cli-process.js";

describe("sagaflow demo travel", () => {
  it("shows a parallel group, an approval event (early and on request), a rollback of parallel siblings and a deadline", async () => {
    const result = await runCli(["demo", "travel", "--delay-ms", "40", "--deadline-ms", "800"]);
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;
    const trip = (n: number): string => out.split(`Trip ${n}:`)[1]?.split("\nTrip ")[0] ?? "";

    // 1: the three reservations start together; the policy's early approval is kept until asked for.
    expect(trip(1)).toMatch(/parallel group "reservations" \(all three started together at \+\d+ ms\): flight succeeded, hotel succeeded, car succeeded/);
    expect(trip(1)).toMatch(/event manager-approved from policy-service at \+\d+ ms, before the saga waited for it: kept until it did/);
    expect(trip(1)).toMatch(/→ completed: tickets issued, approved by policy-service/);
    // 2: a manager approves while the saga waits.
    expect(trip(2)).toContain("… waiting for approval; manager:eva approves");
    expect(trip(2)).toMatch(/event manager-approved from manager:eva at \+\d+ ms\n/);
    expect(trip(2)).toMatch(/→ completed: tickets issued, approved by manager:eva/);
    // 3: the car is refused; its siblings' attempts are cancelled and compensated, newest first.
    expect(trip(3)).toContain("flight cancelled (outcome unknown), hotel cancelled (outcome unknown), car failed (no car available in Oslo)");
    expect(trip(3)).toContain("compensated, newest first: hotel → flight");
    expect(trip(3)).toMatch(/→ compensated/);
    // 4: no approval, the deadline passes, everything is undone, payment first.
    expect(trip(4)).toMatch(/deadline passed at \+(\d+) ms: rolling back/);
    const [, passedAt] = /deadline passed at \+(\d+) ms/.exec(trip(4)) ?? [];
    expect(Number(passedAt)).toBeGreaterThanOrEqual(800);
    expect(trip(4)).toContain("compensated, newest first: payment → car → hotel → flight");
    // Only the two completed trips keep their bookings.
    expect(out).toMatch(/still booked: (?:(?:FLIGHT|HOTEL|CAR|PAYMENT)-trip-(?:lisbon|tokyo)(?:, |\n))+/);
    expect(out).not.toMatch(/still booked:.*(oslo|reykjavik)/);
  }, 60_000);
});
