import type { ErrorInfo, JsonValue, Phase, SagaState, StepDefinition, StoredHistoryEntry } from "./api";
import { formatWhen } from "./format";

/**
 * `sleeping`: a sleep step's attempt that is asleep now (its action is `running` with a wake-up
 * time); a sleep that ended keeps the outcome it ended with, like any other attempt.
 */
export type Outcome = "succeeded" | "failed" | "running" | "in_doubt" | "sleeping";

/** One attempt of one phase, rebuilt from its attempt_started entry and whatever settled it. */
export interface Segment {
  /** Stable across polls (history only grows): which attempt of the phase this is, by position. */
  key: string;
  step: string;
  phase: Phase;
  attempt: number;
  startMs: number;
  /** Null while the attempt runs (or waits for an answer). */
  endMs: number | null;
  outcome: Outcome;
  error?: ErrorInfo;
  timedOut?: boolean;
  output?: JsonValue;
  nextAttemptAtMs?: number;
  /** Who answered a waiting step from outside. */
  by?: string;
  /** A sleep step's attempt: when it went to sleep (`sleep_started`) and when it wakes (or woke). */
  sleepStartMs?: number;
  sleepUntilMs?: number;
  /** The action of a step that waits for an outside answer (`waitStep`), and the named event it waits for, if any. */
  waiting?: boolean;
  event?: string;
  startSeq: number;
  endSeq?: number;
}

/** The wait between a failed attempt and the next one (`pending` while the next is not due yet). */
export interface Gap {
  key: string;
  step: string;
  phase: Phase;
  fromMs: number;
  toMs: number;
  pending: boolean;
  /** The attempt before was in doubt: the wait was for a worker to recover the saga, not a backoff. */
  recovery: boolean;
}

/** The failure that made the saga stop going forward. */
export interface Failure {
  step: string;
  phase: Phase;
  atMs: number;
  error?: ErrorInfo;
  /** Whether compensation followed (false: the saga was parked, e.g. after its pivot). */
  compensated: boolean;
}

export interface Instant {
  atMs: number;
  label: string;
  seq: number;
}

/** A named event the saga received (`signal_received`), and the step that took it, if one did yet. */
export interface SignalMark {
  seq: number;
  atMs: number;
  name: string;
  id: string;
  by: string;
  consumedBy?: string;
}

export interface GaveUp {
  step: string;
  phase: Phase;
  atMs: number;
  attempts: number;
  error: ErrorInfo;
}

/** An operator counted a step's outstanding compensation as settled by hand (`compensation_skipped`). */
export interface Skip {
  step: string;
  atMs: number;
  by: string;
  reason: string;
  seq: number;
}

export interface TimelineModel {
  startMs: number;
  endMs: number;
  segments: Segment[];
  gaps: Gap[];
  failure: Failure | null;
  gaveUp: GaveUp[];
  cancels: Instant[];
  retries: Instant[];
  skips: Skip[];
  signals: SignalMark[];
  /** `deadline_passed`: the saga's deadline came while it still went forward, so it rolls back. */
  deadlinesPassed: Instant[];
  aborts: Instant[];
  /**
   * The saga's deadline, to draw as a line ahead of it: set while it runs (and the deadline has not
   * passed yet) when the deadline falls within the axis or shortly after it (the axis then reaches it).
   */
  deadlineAtMs: number | null;
}

/** How far past the axis (as a share of its length) a coming deadline still stretches it to be seen. */
const DEADLINE_REACH = 0.25;

/**
 * `plan`: the steps of the saga's definition, when known: they say which steps wait for an answer
 * or an event (history alone does not).
 */
export function buildTimeline(saga: SagaState, history: readonly StoredHistoryEntry[], nowMs: number, plan: readonly StepDefinition[] = []): TimelineModel {
  const segments: Segment[] = [];
  const open = new Map<string, Segment>();
  const perPhase = new Map<string, number>();
  const gaveUp: GaveUp[] = [];
  const cancels: Instant[] = [];
  const retries: Instant[] = [];
  const skips: Skip[] = [];
  const signals: SignalMark[] = [];
  const deadlinesPassed: Instant[] = [];
  const aborts: Instant[] = [];
  const waits = new Map(plan.filter((step) => step.wait === true).map((step) => [step.name, step.event]));

  for (const entry of history) {
    switch (entry.type) {
      case "attempt_started": {
        const phaseKey = `${entry.step}|${entry.phase}`;
        const index = perPhase.get(phaseKey) ?? 0;
        perPhase.set(phaseKey, index + 1);
        const segment: Segment = {
          key: `${phaseKey}|${index}`,
          step: entry.step,
          phase: entry.phase,
          attempt: entry.attempt,
          startMs: entry.atMs,
          endMs: null,
          outcome: "running",
          startSeq: entry.seq,
        };
        if (entry.phase === "action" && waits.has(entry.step)) {
          segment.waiting = true;
          const event = waits.get(entry.step);
          if (event !== undefined) segment.event = event;
        }
        segments.push(segment);
        // Keyed by attempt number too: a retried saga starts its attempts again from 1.
        open.set(`${phaseKey}|${entry.attempt}`, segment);
        break;
      }
      case "attempt_succeeded":
      case "attempt_failed":
      case "attempt_in_doubt": {
        const key = `${entry.step}|${entry.phase}|${entry.attempt}`;
        const segment = open.get(key);
        if (segment === undefined) break;
        open.delete(key);
        segment.endMs = entry.atMs;
        segment.endSeq = entry.seq;
        if (entry.type === "attempt_succeeded") {
          segment.outcome = "succeeded";
          if (entry.output !== undefined) segment.output = entry.output;
          if (entry.by !== undefined) segment.by = entry.by;
        } else if (entry.type === "attempt_failed") {
          segment.outcome = "failed";
          segment.error = entry.error;
          segment.timedOut = entry.timedOut;
          if (entry.nextAttemptAtMs !== undefined) segment.nextAttemptAtMs = entry.nextAttemptAtMs;
          if (entry.by !== undefined) segment.by = entry.by;
        } else {
          segment.outcome = "in_doubt";
        }
        break;
      }
      case "phase_gave_up":
        // A cancel gives up a waiting step without failing its attempt: that attempt ends here.
        for (const [key, segment] of open) {
          if (segment.step !== entry.step || segment.phase !== entry.phase) continue;
          open.delete(key);
          segment.endMs = entry.atMs;
          segment.endSeq = entry.seq;
          segment.outcome = "failed";
          segment.error = entry.error;
        }
        gaveUp.push({ step: entry.step, phase: entry.phase, atMs: entry.atMs, attempts: entry.attempts, error: entry.error });
        break;
      case "sleep_started": {
        const segment = open.get(`${entry.step}|action|${entry.attempt}`);
        if (segment === undefined) break;
        segment.sleepStartMs = entry.atMs;
        segment.sleepUntilMs = entry.untilMs;
        segment.outcome = "sleeping";
        break;
      }
      case "signal_received": {
        const kept = saga.signals?.find((s) => s.id === entry.id && s.name === entry.name) ?? saga.signals?.find((s) => s.id === entry.id);
        signals.push({
          seq: entry.seq,
          atMs: entry.atMs,
          name: entry.name,
          id: entry.id,
          by: entry.by,
          ...(kept?.consumedBy === undefined ? {} : { consumedBy: kept.consumedBy }),
        });
        break;
      }
      case "deadline_passed":
        deadlinesPassed.push({ atMs: entry.atMs, label: `deadline ${formatWhen(entry.deadlineAtMs, entry.atMs)} passed: the saga rolls back as if cancelled`, seq: entry.seq });
        break;
      case "abort_requested":
        aborts.push({ atMs: entry.atMs, label: `abort requested by ${entry.by}: ${entry.reason}`, seq: entry.seq });
        break;
      case "cancel_requested":
        cancels.push({ atMs: entry.atMs, label: `cancel requested by ${entry.by}: ${entry.reason}`, seq: entry.seq });
        break;
      case "retry_requested":
        retries.push({ atMs: entry.atMs, label: `retry requested by ${entry.by}: ${entry.reason}`, seq: entry.seq });
        break;
      case "compensation_skipped":
        skips.push({ step: entry.step, atMs: entry.atMs, by: entry.by, reason: entry.reason, seq: entry.seq });
        break;
      default:
        break;
    }
  }

  // An ended saga runs nothing: an attempt it never closed (history from an older engine) stops at the end.
  if (saga.endedAtMs !== undefined) {
    for (const segment of open.values()) {
      segment.endMs = Math.max(segment.startMs, saga.endedAtMs);
      segment.outcome = "in_doubt";
    }
  }
  const gaps = backoffGaps(segments, nowMs);
  const lastEntryMs = history.at(-1)?.atMs ?? saga.createdAtMs;
  const running = segments.some((s) => s.endMs === null) || saga.endedAtMs === undefined;
  let endMs = Math.max(
    saga.endedAtMs ?? 0,
    lastEntryMs,
    running ? nowMs : 0,
    ...segments.map((s) => s.endMs ?? nowMs),
    ...gaps.map((g) => g.toMs),
    // A sleep's planned wake-up is drawn ahead of it, however far: the axis shortens a long wait.
    ...segments.map((s) => (s.outcome === "sleeping" && s.sleepUntilMs !== undefined ? s.sleepUntilMs : 0)),
  );
  endMs = Math.max(endMs, saga.createdAtMs + 1);
  let deadlineAtMs: number | null = null;
  if (saga.status === "running" && saga.endedAtMs === undefined && saga.deadlineAtMs !== undefined && deadlinesPassed.length === 0 && saga.deadlineAtMs >= saga.createdAtMs) {
    if (saga.deadlineAtMs <= endMs + DEADLINE_REACH * (endMs - saga.createdAtMs)) {
      deadlineAtMs = saga.deadlineAtMs;
      endMs = Math.max(endMs, saga.deadlineAtMs);
    }
  }
  return {
    startMs: saga.createdAtMs,
    endMs,
    segments,
    gaps,
    failure: triggeringFailure(saga, history, gaveUp),
    gaveUp,
    cancels,
    retries,
    skips,
    signals,
    deadlinesPassed,
    aborts,
    deadlineAtMs,
  };
}

function backoffGaps(segments: readonly Segment[], nowMs: number): Gap[] {
  const byPhase = new Map<string, Segment[]>();
  for (const segment of segments) {
    const key = `${segment.step}|${segment.phase}`;
    byPhase.set(key, [...(byPhase.get(key) ?? []), segment]);
  }
  const gaps: Gap[] = [];
  for (const list of byPhase.values()) {
    list.forEach((segment, i) => {
      // Only waits the engine chose: a phase parked until an operator's retry is no backoff.
      if (segment.endMs === null || (segment.outcome !== "in_doubt" && segment.nextAttemptAtMs === undefined)) return;
      const next = list[i + 1];
      if (next !== undefined) {
        gaps.push({
          key: segment.key,
          step: segment.step,
          phase: segment.phase,
          fromMs: segment.endMs,
          toMs: next.startMs,
          pending: false,
          recovery: segment.outcome === "in_doubt",
        });
      } else if (segment.nextAttemptAtMs !== undefined) {
        gaps.push({
          key: segment.key,
          step: segment.step,
          phase: segment.phase,
          fromMs: segment.endMs,
          toMs: Math.max(segment.nextAttemptAtMs, segment.endMs),
          pending: segment.nextAttemptAtMs > nowMs,
          recovery: false,
        });
      }
    });
  }
  return gaps;
}

/**
 * The step named by `compensation_started` (or, for a saga parked without compensating, by
 * `stop.step`), at the moment its action gave up; its last failed attempt when no give-up was written.
 */
function triggeringFailure(saga: SagaState, history: readonly StoredHistoryEntry[], gaveUp: readonly GaveUp[]): Failure | null {
  let started: Extract<StoredHistoryEntry, { type: "compensation_started" }> | undefined;
  for (const entry of history) if (entry.type === "compensation_started" && entry.step !== undefined) started = entry;
  const step = started?.step ?? saga.stop?.step;
  if (step === undefined) return null;
  const before = started?.atMs ?? saga.stop?.atMs ?? Number.POSITIVE_INFINITY;
  const give = gaveUp.filter((g) => g.step === step && g.phase === "action" && g.atMs <= before).at(-1);
  if (give !== undefined) return { step, phase: "action", atMs: give.atMs, error: give.error, compensated: started !== undefined };
  let failed: Extract<StoredHistoryEntry, { type: "attempt_failed" }> | undefined;
  for (const entry of history) if (entry.type === "attempt_failed" && entry.step === step && entry.phase === "action" && entry.atMs <= before) failed = entry;
  if (failed !== undefined) return { step, phase: "action", atMs: failed.atMs, error: failed.error, compensated: started !== undefined };
  const atMs = saga.stop?.atMs ?? started?.atMs;
  if (atMs === undefined) return null;
  const error = saga.stop?.error;
  return { step, phase: "action", atMs, ...(error === undefined ? {} : { error }), compensated: started !== undefined };
}

/** How the timeline's marker for a skipped compensation reads to a screen reader (and in its tooltip). */
export function describeSkip(skip: Skip): string {
  return `${skip.step} compensation skipped by ${skip.by}: ${skip.reason}`;
}

export function describeSegment(segment: Segment, nowMs: number = Date.now()): string {
  const base = `${segment.step} ${segment.phase} attempt ${segment.attempt}`;
  if (segment.outcome === "sleeping") return `${base} sleeping until ${segment.sleepUntilMs === undefined ? "its wake-up" : formatWhen(segment.sleepUntilMs, nowMs)}`;
  const outcome = segment.outcome === "in_doubt" ? "in doubt" : segment.outcome;
  let text = `${base} ${outcome}`;
  if (segment.outcome === "running" && segment.waiting === true) text += segment.event === undefined ? ", waiting for an answer" : `, waiting for event ${segment.event}`;
  else if (segment.sleepUntilMs !== undefined && segment.outcome === "succeeded") text += `, slept until ${formatWhen(segment.sleepUntilMs, nowMs)}`;
  return text;
}

/** How a received event reads on the timeline: "event manager-approved from ops:ana". */
export function describeSignal(signal: SignalMark): string {
  return `event ${signal.name} from ${signal.by}`;
}
