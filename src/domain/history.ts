import type { ErrorInfo } from "./error-info.js";
import type { JsonValue } from "./json.js";
import type { Phase, SagaStatus } from "./status.js";
import type { Outstanding, StopReason } from "./state.js";

/** One line of a saga's append-only history (G6). */
export type HistoryEntry =
  | { type: "saga_started"; atMs: number; input: JsonValue; idempotencyKey: string | null }
  | { type: "attempt_started"; atMs: number; step: string; phase: Phase; attempt: number }
  /** `by`: who completed a waiting step from outside. */
  | { type: "attempt_succeeded"; atMs: number; step: string; phase: Phase; attempt: number; output?: JsonValue; by?: string }
  | {
      type: "attempt_failed";
      atMs: number;
      step: string;
      phase: Phase;
      attempt: number;
      error: ErrorInfo;
      timedOut: boolean;
      /** Set when another attempt will follow. */
      nextAttemptAtMs?: number;
      /** Who failed a waiting step from outside. */
      by?: string;
    }
  | { type: "phase_gave_up"; atMs: number; step: string; phase: Phase; attempts: number; error: ErrorInfo }
  | { type: "attempt_in_doubt"; atMs: number; step: string; phase: Phase; attempt: number; recoveries: number }
  | { type: "cancel_requested"; atMs: number; reason: string; by: string }
  /** An operator reopened a `failed` saga to try `outstanding` again. */
  | { type: "retry_requested"; atMs: number; reason: string; by: string; outstanding: Outstanding[] }
  | { type: "signal_received"; atMs: number; name: string; id: string; by: string }
  | { type: "sleep_started"; atMs: number; step: string; attempt: number; untilMs: number }
  | { type: "compensation_skipped"; atMs: number; step: string; reason: string; by: string }
  | { type: "resolved"; atMs: number; reason: string; by: string }
  | { type: "deadline_passed"; atMs: number; deadlineAtMs: number }
  | { type: "abort_requested"; atMs: number; reason: string; by: string }
  | { type: "migrated"; atMs: number; fromVersion: number; toVersion: number; reason: string; by: string }
  | { type: "compensation_started"; atMs: number; reason: StopReason; step?: string; order: string[] }
  | { type: "saga_ended"; atMs: number; status: SagaStatus; reason?: StopReason; outstanding?: Outstanding[] }
  /**
   * Written by the store, not the engine: a worker whose lease had been lost tried to commit
   * (G5). Stored with the late writer's worker id and stale epoch; nothing else of it was kept.
   */
  | { type: "write_rejected"; atMs: number; reason: "fenced"; currentEpoch: number; rejected: RejectedEntry[] };

/** What a rejected write would have appended, in brief. */
export interface RejectedEntry {
  type: string;
  step?: string;
  phase?: Phase;
  attempt?: number;
}

export type HistoryEntryType = HistoryEntry["type"];

/** A history entry as stored: numbered per instance, with who wrote it. */
export type StoredHistoryEntry = HistoryEntry & {
  seq: number;
  /** The worker that persisted the entry and its fencing epoch, when a worker did. */
  workerId?: string;
  epoch?: number;
};
