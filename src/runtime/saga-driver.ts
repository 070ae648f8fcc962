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
import type { CommitCallback, CommitWatcher } from "./committer.js";
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
  /** Hands a commit to the group commit; `callback` hears of its outcome, after `watcher` (the driver's `DriverStart.watcher`). */
  commit(commit: TransitionCommit, callback: CommitCallback, watcher: CommitWatcher | undefined): void;
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
  /**
   * The worker's record of this saga, told of each of the driver's commits as its batch settles:
   * handed over with every commit, so the worker need not look the saga up by id for each.
   */
  watcher?: CommitWatcher | undefined;
}

const MAX_INBOX_RETRIES = 20;

/** What a driver holds between a commit and its next outcomes: the applied events are not kept. */
const NO_EVENTS: readonly SagaEvent[] = [];

const DONE: Promise<void> = Promise.resolve();

/** A running driver, as its worker sees it. */
export interface DriverHandle {
  /** Settles once the driver stopped and the worker's follow-up (`DriverEnv.finished`) is done. */
  readonly done: Promise<void>;
}

/**
 * Runs one saga while this worker holds its lease: apply events, commit the new state
 * (write-ahead: an attempt is recorded as started before it runs, and its outcome before
 * anything after it starts), run the commands, repeat until the saga ends or waits.
 */
export function driveSaga(env: DriverEnv, start: DriverStart): DriverHandle {
  const run = new SagaRun(env, start);
  run.proceed();
  return run;
}

/**
 * One saga's driver as a callback-driven loop rather than an async function: it is its own
 * commit callback and its steps' continuation, so a transition costs no suspended frame, await
 * closures, promise per commit or microtask hop per step (together a quarter of the runtime's
 * garbage, at thousands of transitions a second). A step that returns a plain value (no promise)
 * is settled at once, in the same turn.
 *
 * It holds only what it still needs: the current state and commands, not the `DriverStart`, whose
 * state and commands would otherwise stay alive, superseded, for as long as the saga is held.
 */
class SagaRun implements CommitCallback, DriverHandle {
  readonly #env: DriverEnv;
  readonly #definition: SagaDefinition<unknown, Record<string, unknown>>;
  readonly #sagaId: string;
  readonly #epoch: number;
  readonly #abort: AbortSource;
  readonly #watcher: CommitWatcher | undefined;
  #state: SagaState;
  #inboxSeq: number;
  #events: readonly SagaEvent[];
  #commands: RunPhaseCommand[];
  /** What the commit being written commits. */
  #next: Decided | undefined;
  /** The inbox messages that commit applies (up to this seq). */
  #nextInboxSeq = 0;
  /** How many times the inbox changed under this transition's commit. */
  #round = 0;
  #ended = false;
  #done: Promise<void> | undefined;
  #resolveDone: (() => void) | undefined;

  constructor(env: DriverEnv, start: DriverStart) {
    this.#env = env;
    this.#definition = start.definition;
    this.#sagaId = start.state.id;
    this.#epoch = start.epoch;
    this.#abort = start.abort;
    this.#watcher = start.watcher;
    this.#state = start.state;
    this.#inboxSeq = start.inboxSeq;
    this.#events = start.events;
    this.#commands = start.commands;
  }

  /** Made only when someone waits for it (a worker shutting down): most drivers end unwatched. */
  get done(): Promise<void> {
    if (this.#done === undefined) this.#done = this.#ended ? DONE : new Promise<void>((resolve) => (this.#resolveDone = resolve));
    return this.#done;
  }

  /** Goes on until the saga needs to wait for a commit or a step, or leaves this driver. */
  proceed(): void {
    try {
      for (;;) {
        if (this.#events.length > 0) {
          this.#round = 0;
          this.#nextInboxSeq = this.#inboxSeq;
          this.#commit();
          return;
        }
        const commands = this.#commands;
        if (commands.length === 0) return this.#finish("released");
        if (this.#abort.aborted) return this.#finish("held");
        faultPoint(FaultPoint.DriverBeforeRun);
        const env = this.#env;
        const only = commands[0] as RunPhaseCommand;
        if (commands.length > 1 || env.wrapAttempt !== undefined || only.timeoutMs > 0) {
          this.#runApart(commands);
          return;
        }
        // The usual case, inline: no promise of the runtime's own around the step's.
        let result: unknown;
        try {
          result = startStep(this.#definition, this.#state, only, this.#abort);
          // Like `await`: a thenable is followed; anything else is the output, at once.
          if (isThenable(result)) {
            const [returned, threw] = this.#stepContinuations();
            Promise.resolve(result).then(returned, threw);
            return;
          }
        } catch (thrown) {
          this.#events = [failedEvent(only, thrown, env.random)];
          continue;
        }
        this.#events = [settledEvent(only, result, env.random)];
      }
    } catch (error) {
      this.#finish({ crashed: error });
    }
  }

  /**
   * The continuations of a step's promise, made the first time a step returns one: a saga whose
   * steps return plain values never needs them.
   */
  #onStep: [(value: unknown) => void, (thrown: unknown) => void] | undefined;
  #onEvents: [(events: SagaEvent[]) => void, (error: unknown) => void] | undefined;

  #stepContinuations(): [(value: unknown) => void, (thrown: unknown) => void] {
    return (this.#onStep ??= [
      (value) => {
        this.#events = [settledEvent(this.#commands[0] as RunPhaseCommand, value, this.#env.random)];
        this.proceed();
      },
      (thrown) => {
        this.#events = [failedEvent(this.#commands[0] as RunPhaseCommand, thrown, this.#env.random)];
        this.proceed();
      },
    ]);
  }

  #eventsContinuations(): [(events: SagaEvent[]) => void, (error: unknown) => void] {
    return (this.#onEvents ??= [
      (events) => {
        this.#events = events;
        this.proceed();
      },
      (error) => this.#finish({ crashed: error }),
    ]);
  }

  /** Several commands at once, a step with a timeout, or attempts through the wrapper: through the promise paths below. */
  #runApart(commands: RunPhaseCommand[]): void {
    const env = this.#env;
    const only = commands[0] as RunPhaseCommand;
    let events: Promise<SagaEvent[]>;
    if (commands.length > 1) events = runAll(env, this.#definition, this.#state, commands, this.#abort);
    else if (env.wrapAttempt !== undefined) events = runWrapped(env.wrapAttempt, env, this.#definition, this.#state, commands, this.#abort);
    else events = executeStep(this.#definition, this.#state, only, this.#abort, env.random).then((event) => [event]);
    const [arrived, crashed] = this.#eventsContinuations();
    events.then(arrived, crashed);
  }

  /** Decides the events and hands the result to the group commit; `committed` or `commitFailed` goes on. */
  #commit(): void {
    const env = this.#env;
    const now = env.clock.now();
    const next = applyEvents(env, this.#definition, this.#state, this.#events, now);
    this.#next = next;
    env.commit(
      {
        sagaId: this.#sagaId,
        epoch: this.#epoch,
        workerId: env.workerId,
        nowMs: now,
        state: next.state,
        history: next.history,
        inboxSeq: this.#nextInboxSeq,
        lease: next.commands.length > 0 ? { expiresAtMs: now + env.leaseMs } : "release",
      },
      this,
      this.#watcher,
    );
  }

  committed(outcome: CommitOutcome): void {
    try {
      const env = this.#env;
      const next = this.#next as Decided;
      if (outcome.ok) {
        this.#next = undefined;
        const { state, history, commands } = next;
        if (commands.length === 0) env.released(this.#sagaId, this.#epoch);
        env.notify({ sagaId: this.#sagaId, state, history, workerId: env.workerId, epoch: this.#epoch });
        if (commands.length === 0 && state.wakeAtMs !== null) env.scheduleWake(state.wakeAtMs);
        this.#state = state;
        this.#inboxSeq = this.#nextInboxSeq;
        this.#commands = commands;
        // Lets go of the applied events (and the outputs in them) while the step runs.
        this.#events = NO_EVENTS;
        this.proceed();
        return;
      }
      if (outcome.reason === "fenced") {
        env.logger.warn({ sagaId: this.#sagaId, epoch: this.#epoch, workerId: env.workerId }, "lease lost: write refused, another worker owns this saga");
        this.#finish("lost");
        return;
      }
      if (++this.#round > MAX_INBOX_RETRIES) {
        env.logger.error({ sagaId: this.#sagaId }, "inbox kept changing; leaving the saga to recovery");
        this.#finish("lost");
        return;
      }
      // The messages arrived before the outcomes we are committing were known, so they go first:
      // a cancel delivered while a step ran must see that step settle, not the next one start.
      const events = this.#events;
      const afterClaim = events.filter((event) => event.type === "claimed").length;
      this.#events = [...events.slice(0, afterClaim), ...outcome.inbox.map((message) => message.event), ...events.slice(afterClaim)];
      for (const message of outcome.inbox) this.#nextInboxSeq = Math.max(this.#nextInboxSeq, message.seq);
      this.#commit();
    } catch (error) {
      this.#finish({ crashed: error });
    }
  }

  commitFailed(error: unknown): void {
    // Not durable, or not known to be: drop the saga here; after the lease runs out it is recovered.
    try {
      this.#env.logger.error({ sagaId: this.#sagaId, epoch: this.#epoch, err: error }, "commit failed; leaving the saga to recovery");
    } catch (thrown) {
      this.#finish({ crashed: thrown });
      return;
    }
    this.#finish("lost");
  }

  /** The worker's own follow-up (give a held lease back, free the slot) is what `done` waits for. */
  #finish(exit: DriverExit | DriverCrash): void {
    this.#ended = true;
    this.#next = undefined;
    let follow: Promise<void> | undefined;
    try {
      follow = this.#env.finished(this.#sagaId, this.#epoch, exit);
    } catch (error) {
      follow = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (follow !== undefined) {
      if (this.#done !== undefined) void follow.then(this.#resolveDone, this.#resolveDone);
      else this.#done = follow;
    } else {
      this.#resolveDone?.();
    }
  }
}

/** What a commit being written commits. */
interface Decided {
  state: SagaState;
  history: HistoryEntry[];
  commands: RunPhaseCommand[];
}

/** Whether `await` would follow `value` (an object or function with a `then` method). */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === "object" || typeof value === "function") && typeof (value as { then?: unknown }).then === "function";
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
