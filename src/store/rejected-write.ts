import type { HistoryEntry, RejectedEntry } from "../domain/history.js";
import type { TransitionCommit } from "./saga-store.js";

/**
 * The history entry a store appends when it fences a commit of an existing instance: the late
 * writer's attempt stays visible (which worker, which stale epoch, what it tried to record)
 * while none of its state is kept. Stored with the late writer's worker id and epoch.
 */
export function rejectedWriteEntry(commit: TransitionCommit, currentEpoch: number): HistoryEntry {
  const rejected = commit.history.map((entry): RejectedEntry => {
    const brief: RejectedEntry = { type: entry.type };
    if ("step" in entry && entry.step !== undefined) brief.step = entry.step;
    if ("phase" in entry) brief.phase = entry.phase;
    if ("attempt" in entry) brief.attempt = entry.attempt;
    return brief;
  });
  return { type: "write_rejected", atMs: commit.nowMs, reason: "fenced", currentEpoch, rejected };
}
