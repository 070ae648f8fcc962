/**
 * Named points at the durability boundaries where a test can make the process die at once
 * (SIGKILL to itself), as DBOS's debug points do. They are armed only through the environment
 * of the process under test:
 *
 *   SAGAFLOW_FAULT_POINT=<name>   which point
 *   SAGAFLOW_FAULT_AFTER=<n>      die on its n-th hit (default 1)
 *
 * Unarmed (always, outside such tests) a check costs one string comparison.
 */
export const FaultPoint = {
  /**
   * Before a store write commits: inside its transaction, after its statements, before COMMIT; or,
   * for a write that is one statement committing on its own, before it is sent. The whole batch
   * must vanish. In SQLite's writer thread it is checked in that thread, its hits counted apart.
   */
  WriteBeforeCommit: "store.write.before-commit",
  /** Right after a store write committed, before any caller hears of it: the batch must survive. */
  WriteAfterCommit: "store.write.after-commit",
  /** A saga's transition is durable and its next attempt is recorded as started, but not yet run. */
  DriverBeforeRun: "runtime.driver.before-run",
} as const;
export type FaultPoint = (typeof FaultPoint)[keyof typeof FaultPoint];

const armed = process.env.SAGAFLOW_FAULT_POINT;
let hitsLeft = Number.parseInt(process.env.SAGAFLOW_FAULT_AFTER ?? "1", 10) || 1;

/** Dies here if this point is armed and its hit count is reached. */
export function faultPoint(name: FaultPoint): void {
  if (armed !== name) return;
  hitsLeft -= 1;
  if (hitsLeft > 0) return;
  process.kill(process.pid, "SIGKILL");
  // The signal is taken on the way back from the kill() system call; block in case it is late,
  // so that nothing after the point (a COMMIT) can run.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10_000);
}
