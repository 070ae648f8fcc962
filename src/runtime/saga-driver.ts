import { FaultPoint, faultPoint } from "../fault-points.js";
import type { RunPhaseCommand } from "../domain/commands.js";
import type { PhaseFailedEvent, PhaseSucceededEvent, SagaEvent } from "../domain/events.js";
import type { StepPlan } from "../domain/plan.js";
import type { HistoryEntry } from "../domain/history.js";
import type { SagaState } from "../domain/state.js";
import type { SagaDefinition } from "../dsl/define-saga.js";
import { decide } from "../engine/decide.js";
import type { CommitOutcome, TransitionCommit } from "../store/saga-store.js";
import type { Clock } from "./clock.js";
import { executeStep, failedEvent, settledEvent, startStep } from "./execute-step.js";
import { LinkedAbort, type AbortSource } from "./lazy-abort.js";
import type { Logger } from "./logger.js";

/** What a committed transition looks like to subscribers (the CLI demo, waitFor, later metrics). */
export interface TransitionNotice {
  sagaId: string;
  state: SagaState;
  history: HistoryEntry[];
  workerId: string;
  epoch: number;
}

/** Everything a driver needs from its worker. */
export interface DriverEnv {
  workerId: string;
  leaseMs: number;
  clock: Clock;
  random: () => number;
  logger: Logger;
  commit(commit: TransitionCommit): Promise<CommitOutcome>;
  notify(notice: TransitionNotice): void;
  /**
   * The commit just made gave the lease back (the saga ended or waits), so the driver is done with
   * it: the worker may hand its slot to another saga before subscribers hear of the commit.
   */
  released(sagaId: string, epoch: number): void;
  /** The instance was released and wants to be looked at again at this time. */
  scheduleWake(atMs: number): void;
  /** The driver stopped, or crashed; `driveSaga` settles with what this returns. */
  finished(sagaId: string, epoch: number, exit: DriverExit | DriverCrash): Promise<void> | undefined;
  /** Runs around every attempt when set (tracing); see `AttemptWrapper`. */
  wrapAttempt?: AttemptWrapper | undefined;
}

/** What an attempt wrapper is told about the attempt it wraps. */
export interface AttemptInfo {
  sagaId: string;
  definitionName: string;
  definitionVersion: number;
  step: string;
  phase: "action" | "compensation";
  attempt: number;
  idempotencyKey: string;
}

/**
 * Runs around each attempt of an action or compensation, e.g. to open a tracing span that the
 * step's own calls run inside. It must call `run` once and return what it returns: `run` never
 * rejects (a failing step settles as a failure event), and a wrapper that throws instead leaves
 * the saga to recovery, as a crash would.
 */
export type AttemptWrapper = <T extends SagaEvent>(info: AttemptInfo, run: () => Promise<T>) => Promise<T>;

/**
 * How a driver stopped: the saga waits or ended and the lease was given back (`released`);
 * it was aborted with the lease still held and attempts recorded as started (`held`: the
 * worker gives the lease back so another claim finds them in doubt without waiting); or
 * the lease or the commit was lost (`lost`: recovery happens after the lease runs out).
 */
export type DriverExit = "released" | "held" | "lost";

/** The driver threw (a bug): the saga is left to recovery. */
export interface DriverCrash {
  crashed: unknown;
}

/** One saga held by this worker at one epoch. */
export interface DriverStart {
  definition: SagaDefinition<unknown, Record<string, unknown>>;
  state: SagaState;
  epoch: number;
  inboxSeq: number;
  /** Events to apply before anything runs (a claim and the inbox), or none when `commands` were committed already. */
  events: SagaEvent[];
  commands: RunPhaseCommand[];
  /** Aborted when the lease is lost or the worker shuts down. */
  abort: AbortSource;
}

const MAX_INBOX_RETRIES = 20;

/** What a driver holds between a commit and its next outcomes: the applied events are not kept. */
const NO_EVENTS: SagaEvent[] = [];

/**
 * Runs one saga while this worker holds its lease: apply events, commit the new state
 * (write-ahead: an attempt is recorded as started before it runs, and its outcome before
 * anything after it starts), run the commands, repeat until the saga ends or waits.
 */
export function driveSaga(env: DriverEnv, start: DriverStart): Promise<void> {
  // Unpacked here, so the suspended driver holds only what it still needs: not `start`, whose
  // state and commands would otherwise stay alive, superseded, for as long as the saga is held.
  return drive(env, start.definition, start.epoch, start.abort, start.state, start.inboxSeq, start.events, start.commands);
}

async function drive(
  env: DriverEnv,
  definition: SagaDefinition<unknown, Record<string, unknown>>,
  epoch: number,
  abort: AbortSource,
  state: SagaState,
  inboxSeq: number,
  events: SagaEvent[],
  commands: RunPhaseCommand[],
): Promise<void> {
  const sagaId = state.id;
  let exit: DriverExit | DriverCrash;
  try {
    for (;;) {
      if (events.length > 0) {
        const committed = await decideAndCommit(env, definition, state, epoch, inboxSeq, events);
        if (committed === null) {
          exit = "lost";
          break;
        }
        ({ state, inboxSeq, commands } = committed);
        // Read by nothing, but it lets go of the applied events (and the outputs in them) while the step runs.
        events = NO_EVENTS;
      }
      if (commands.length === 0) {
        exit = "released";
        break;
      }
      if (abort.aborted) {
        exit = "held";
        break;
      }
      faultPoint(FaultPoint.DriverBeforeRun);
      const [only] = commands;
      if (commands.length > 1) {
        events = await runAll(env, definition, state, commands, abort);
      } else if (env.wrapAttempt !== undefined) {
        events = await runWrapped(env.wrapAttempt, env, definition, state, commands, abort);
      } else if (commands.length === 1 && only !== undefined && only.timeoutMs <= 0) {
        // The usual case, inline: the driver awaits the step itself, so while it runs there is no
        // second suspended frame, promise and reaction per saga (what `executeStep` would add).
        try {
          events = [settledEvent(only, await startStep(definition, state, only, abort), env.random)];
        } catch (thrown) {
          events = [failedEvent(only, thrown, env.random)];
        }
      } else {
        events = only === undefined ? [] : [await executeStep(definition, state, only, abort, env.random)];
      }
    }
  } catch (error) {
    exit = { crashed: error };
  }
  // The worker's own follow-up (give a held lease back, free the slot) ends this promise, so it needs no reaction of its own.
  return env.finished(sagaId, epoch, exit);
}

/**
 * When each of several attempts run together settled: `applyEvents` applies their outcomes in
 * that order and at those times, so history, `settledOrder` (and with it the newest-first order of
 * compensations) follow what happened, not the order the attempts were started in.
 */
const settledAtMs = new WeakMap<SagaEvent, number>();

/**
 * Several commands at once (the steps of a parallel group, or in-doubt attempts re-run together),
 * each through the attempt wrapper when there is one; apart, so `drive` itself allocates no
 * closure context. With a group whose `onFailure` is `cancel`, a member failing for good aborts its
 * siblings' attempts; a sibling that then fails is reported with its outcome unknown (it may have
 * taken effect before it stopped), so it is compensated if it has a compensation.
 */
function runAll(
  env: DriverEnv,
  definition: SagaDefinition<unknown, Record<string, unknown>>,
  state: SagaState,
  commands: RunPhaseCommand[],
  abort: AbortSource,
): Promise<SagaEvent[]> {
  const plan = definition.plan;
  const sources = commands.map(() => new LinkedAbort(abort));
  const aborted = new Set<number>();
  const settled = new Set<number>();
  const run = (command: RunPhaseCommand, source: AbortSource): Promise<PhaseSucceededEvent | PhaseFailedEvent> =>
    env.wrapAttempt === undefined
      ? executeStep(definition, state, command, source, env.random)
      : env.wrapAttempt(attemptInfo(state, command), () => executeStep(definition, state, command, source, env.random));
  return Promise.all(
    commands.map(async (command, i) => {
      const event = await run(command, sources[i] as LinkedAbort);
      settled.add(i);
      const group = command.phase === "action" ? plan.steps[command.stepIndex]?.group : undefined;
      // A failure the group's own abort caused does not abort anyone else.
      if (!aborted.has(i) && event.type === "action_failed" && group?.onFailure === "cancel" && failsForGood(plan.steps[command.stepIndex], command.attempt, event)) {
        commands.forEach((sibling, j) => {
          if (j === i || settled.has(j) || sibling.phase !== "action" || plan.steps[sibling.stepIndex]?.group?.name !== group.name) return;
          aborted.add(j);
          (sources[j] as LinkedAbort).abort(new Error(`${command.step} failed for good: the other steps of group ${group.name} are cancelled`));
        });
      }
      return { event, at: env.clock.now() };
    }),
  ).then((outcomes) =>
    outcomes
      .map(({ event, at }, i) => ({ event: aborted.has(i) && event.type === "action_failed" ? { ...event, timedOut: true } : event, at }))
      .sort((a, b) => a.at - b.at)
      .map(({ event, at }) => {
        settledAtMs.set(event, at);
        return event;
      }),
  );
}

function attemptInfo(state: SagaState, command: RunPhaseCommand): AttemptInfo {
  return {
    sagaId: state.id,
    definitionName: state.definitionName,
    definitionVersion: state.definitionVersion,
    step: command.step,
    phase: command.phase,
    attempt: command.attempt,
    idempotencyKey: command.idempotencyKey,
  };
}

/** Whether this failure ends the step under its policy (as the engine will decide): no retry left or allowed. */
function failsForGood(step: StepPlan | undefined, attempt: number, event: PhaseFailedEvent): boolean {
  if (step === undefined) return true;
  return !event.retryable || step.retry.terminalErrors.includes(event.error.name) || attempt >= step.retry.maxAttempts;
}

/** Every command through the attempt wrapper; the plain paths above stay free of its cost. */
function runWrapped(
  wrap: AttemptWrapper,
  env: DriverEnv,
  definition: SagaDefinition<unknown, Record<string, unknown>>,
  state: SagaState,
  commands: RunPhaseCommand[],
  abort: AbortSource,
): Promise<SagaEvent[]> {
  return Promise.all(commands.map((command) => wrap(attemptInfo(state, command), () => executeStep(definition, state, command, abort, env.random))));
}

interface Committed {
  state: SagaState;
  inboxSeq: number;
  commands: RunPhaseCommand[];
}

async function decideAndCommit(
  env: DriverEnv,
  definition: SagaDefinition<unknown, Record<string, unknown>>,
  base: SagaState,
  epoch: number,
  baseInboxSeq: number,
  initialEvents: SagaEvent[],
): Promise<Committed | null> {
  let events: readonly SagaEvent[] = initialEvents;
  let inboxSeq = baseInboxSeq;
  for (let round = 0; round <= MAX_INBOX_RETRIES; round++) {
    const now = env.clock.now();
    const { state, history, commands } = applyEvents(env, definition, base, events, now);
    let outcome: CommitOutcome;
    try {
      outcome = await env.commit({
        sagaId: base.id,
        epoch,
        workerId: env.workerId,
        nowMs: now,
        state,
        history,
        inboxSeq,
        lease: commands.length > 0 ? { expiresAtMs: now + env.leaseMs } : "release",
      });
    } catch (error) {
      // Not durable, or not known to be: drop the saga here; after the lease runs out it is recovered.
      env.logger.error({ sagaId: base.id, epoch, err: error }, "commit failed; leaving the saga to recovery");
      return null;
    }
    if (outcome.ok) {
      if (commands.length === 0) env.released(base.id, epoch);
      env.notify({ sagaId: base.id, state, history, workerId: env.workerId, epoch });
      if (commands.length === 0 && state.wakeAtMs !== null) env.scheduleWake(state.wakeAtMs);
      return { state, inboxSeq, commands };
    }
    if (outcome.reason === "fenced") {
      env.logger.warn({ sagaId: base.id, epoch, workerId: env.workerId }, "lease lost: write refused, another worker owns this saga");
      return null;
    }
    // The messages arrived before the outcomes we are committing were known, so they go first:
    // a cancel delivered while a step ran must see that step settle, not the next one start.
    const afterClaim = events.filter((event) => event.type === "claimed").length;
    events = [...events.slice(0, afterClaim), ...outcome.inbox.map((message) => message.event), ...events.slice(afterClaim)];
    for (const message of outcome.inbox) inboxSeq = Math.max(inboxSeq, message.seq);
  }
  env.logger.error({ sagaId: base.id }, "inbox kept changing; leaving the saga to recovery");
  return null;
}

/** Feeds the events to the engine in order; one event (the usual case) costs no copying. */
function applyEvents(
  env: DriverEnv,
  definition: SagaDefinition<unknown, Record<string, unknown>>,
  base: SagaState,
  events: readonly SagaEvent[],
  now: number,
): { state: SagaState; history: HistoryEntry[]; commands: RunPhaseCommand[] } {
  let state = base;
  const [only] = events;
  if (events.length === 1 && only !== undefined) {
    const decision = decide(definition.plan, state, only, now);
    if (decision.ignored === undefined) return decision;
    env.logger.debug({ sagaId: base.id, event: only.type, reason: decision.ignored }, "event ignored");
    return { state, history: [], commands: [] };
  }
  const history: HistoryEntry[] = [];
  const commands: RunPhaseCommand[] = [];
  let at = -Infinity;
  for (const event of events) {
    // Outcomes of attempts run together carry when they settled; time never runs backwards.
    at = Math.max(at, Math.min(settledAtMs.get(event) ?? now, now));
    const decision = decide(definition.plan, state, event, at);
    if (decision.ignored !== undefined) {
      env.logger.debug({ sagaId: base.id, event: event.type, reason: decision.ignored }, "event ignored");
      continue;
    }
    state = decision.state;
    history.push(...decision.history);
    commands.push(...decision.commands);
  }
  // A later event may have settled an attempt an earlier one started; run only what is still running.
  const settled = state;
  return {
    state,
    history,
    commands: commands.filter((command) => {
      const step = settled.steps[command.stepIndex];
      const phase = command.phase === "action" ? step?.action : step?.compensation;
      return phase?.status === "running" && phase.attempt === command.attempt;
    }),
  };
}
