// Which commits the SQLite store first tries with the update that touches no index: the ones
// whose stored row already has their status and schedule. One sent there that changes the status
// matches nothing and costs a second statement; one kept from it costs index writes.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isTerminal } from "../../src/domain/status.js";
import type { TransitionCommit } from "../../src/store/saga-store.js";
import { keepsSchedule } from "../../src/store/sqlite/write-params.js";
import { planArb, rollbackArb, scriptArb, simulate, type Trace } from "../support/engine-sim.js";

/** The commit a worker makes of each decision of `trace` (lease kept while commands remain), with the status its row held before. */
function commitsOf(trace: Trace): Array<{ commit: TransitionCommit; storedStatus: string }> {
  return trace.fed.map((fed) => ({
    storedStatus: fed.before.status,
    commit: {
      sagaId: trace.sagaId,
      epoch: 1,
      workerId: "worker-1",
      nowMs: fed.nowMs,
      state: fed.decision.state,
      history: fed.decision.history,
      inboxSeq: 0,
      lease: fed.decision.commands.length > 0 ? { expiresAtMs: fed.nowMs + 15_000 } : "release",
    },
  }));
}

describe("SQLite commits that keep their schedule", () => {
  it("never include one that changes the saga's status, and include every other due one that keeps its lease", () => {
    const check = (trace: Trace): void => {
      for (const { commit, storedStatus } of commitsOf(trace)) {
        const { state } = commit;
        const due = commit.lease !== "release" && !isTerminal(state.status) && state.wakeAtMs !== null && state.wakeAtMs <= commit.nowMs;
        expect(keepsSchedule(commit)).toBe(due && state.status === storedStatus);
      }
    };
    fc.assert(fc.property(planArb, scriptArb, (plan, script) => check(simulate(plan, script))), { numRuns: 150 });
    fc.assert(fc.property(rollbackArb, ({ plan, script }) => check(simulate(plan, script))), { numRuns: 150 });
  });
});
