import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { SagaState } from "../domain/state.js";
import { concatExact } from "../domain/copy-state.js";
import { isTerminal } from "../domain/status.js";
import type { StoredHistoryEntry } from "../domain/history.js";
import type { SagaDefinition } from "../dsl/define-saga.js";
import { decide } from "../engine/decide.js";
import type { SagaPlan } from "../domain/plan.js";
import { createInitialState, type NewSagaParams } from "../engine/initial-state.js";
import {
  IdempotencyKeyConflictError,
  InvalidArgumentError,
  InvalidDefinitionError,
  OrchestratorClosedError,
  RepairNotAllowedError,
  SagaNotFoundError,
  SagaflowError,
  StepNotFoundError,
  StepNotWaitingError,
  UnknownDefinitionError,
} from "../errors.js";
import { deliverSignal, type SignalOptions } from "./signal.js";
import { shapeOf } from "./plan-shape.js";
import { requestAbort, requestCancel, requestResolve, requestRetry, requestSkip, requireReason } from "./operator-actions.js";
import { definitionKey, type CreateInstanceRequest, type InboxPayload, type ListPage, type ListQuery, type SagaStore } from "../store/saga-store.js";
import type { ErrorInfo } from "../domain/error-info.js";
import { systemClock, type Clock } from "./clock.js";
import { GroupCommitter } from "./committer.js";
import { InPlaceMap } from "../collections/in-place-map.js";
import { silentLogger, type Logger } from "./logger.js";
import { toJsonValue } from "./normalize-error.js";
import type { AttemptWrapper, TransitionNotice } from "./saga-driver.js";
import { Worker } from "./worker.js";
import { newSagaId } from "./saga-id.js";

// Definitions are stored with their types erased; `any` here keeps every typed definition assignable.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyDefinition = SagaDefinition<any, any>;
type ErasedDefinition = SagaDefinition<unknown, Record<string, unknown>>;
/** The input type a definition declares. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type InputOf<D> = D extends SagaDefinition<infer Input, any> ? Input : never;

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** How many saga ids the start-up warning names for a version no worker here runs. */
const MAX_EXAMPLE_IDS = 5;
/** What `toJsonValue` names when it refuses a value (made once, not per call). */
const sagaInput = (): string => "saga input";
const theOutputOfStep = (step: string): string => `the output of step ${step}`;

export interface OrchestratorOptions {
  store: SagaStore;
  definitions: readonly AnyDefinition[];
  /** Run an in-process worker (default true). Without one, `start` only enqueues. */
  worker?: boolean;
  /** Shown in history and leases. Default `<hostname>:<pid>:<random>`. */
  workerId?: string;
  /** Sagas this worker drives at once. Default 32. */
  concurrency?: number;
  /** How long a claim holds without renewal; renewed every third of it. Default 15 000 ms. */
  leaseMs?: number;
  /** Fallback poll for work started elsewhere. Default 1 000 ms. */
  pollIntervalMs?: number;
  clock?: Clock;
  /** Source of backoff jitter, [0, 1). Default Math.random. */
  random?: () => number;
  logger?: Logger;
  /**
   * Runs around every attempt of every step this worker runs, e.g. `tracingInstrumentation()`
   * from `sagaflow/server` to trace each attempt with OpenTelemetry. Default: none.
   */
  wrapAttempt?: AttemptWrapper;
}

export interface StartOptions {
  /** Starting twice with the same key returns the first instance (created: false). */
  idempotencyKey?: string;
  /**
   * Default: a UUIDv7, which sorts by creation time. Ids you pass yourself work the same, but
   * time-ordered ones write faster: stores index instances and history by id, and the sagas in
   * flight then share a few index pages instead of each touching one of its own (random ids made
   * SQLite's saga writes about 3× slower at 512 in flight; see docs/benchmarks.md).
   */
  id?: string;
  /**
   * How long this saga may take going forward, in ms from now (overrides the definition's
   * `deadlineMs`): once it passes, a saga before its pivot rolls back as if cancelled.
   */
  deadlineMs?: number;
}

export interface StartResult {
  id: string;
  /** False when `idempotencyKey` named an existing instance, which is returned instead. */
  created: boolean;
  state: SagaState;
}

/** Who answered a waiting step, for the history. */
export interface AnswerOptions {
  /** Default "api". */
  by?: string;
}

export interface CancelOptions {
  reason?: string;
  /** Who asked, for the history. Default "api". */
  by?: string;
}

/**
 * The library's entry point: starts, inspects and cancels sagas, and (by default) runs an
 * in-process worker that drives them. Create with `Orchestrator.create`, end with `close()`.
 */
export class Orchestrator {
  readonly store: SagaStore;
  readonly workerId: string;
  readonly #definitions = new Map<string, ErasedDefinition>();
  readonly #latest = new Map<string, ErasedDefinition>();
  /**
   * The registered definition for each definition object `start` was given: found by identity
   * rather than by building its `name@version` key and hashing it (2% of the runtime's CPU per
   * start). Entries never go stale: a key, once registered, is never replaced.
   */
  readonly #byObject = new WeakMap<object, ErasedDefinition>();
  readonly #clock: Clock;
  readonly #leaseMs: number;
  readonly #worker: Worker | undefined;
  /** Shared with the worker, so starts and transitions go to the store in the same batches. */
  readonly #committer: GroupCommitter;
  readonly #listeners = new Set<(notice: TransitionNotice) => void>();
  /** `waitFor`'s callers by saga id, so a transition reaches only the waiters of its own saga. */
  readonly #waiters = new InPlaceMap<Array<(state: SagaState) => void>>();
  readonly #logger: Logger;
  #closed = false;

  private constructor(options: OrchestratorOptions) {
    this.store = options.store;
    this.#clock = options.clock ?? systemClock;
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.#leaseMs = positiveInteger("leaseMs", options.leaseMs ?? 15_000);
    this.#logger = options.logger ?? silentLogger;
    this.#committer = new GroupCommitter(this.store, {
      onCallbackError: (error) => this.#logger.error({ err: error }, "a saga driver threw while taking its commit's outcome (a bug); the rest of the batch went on"),
    });
    for (const definition of options.definitions) this.#add(definition, "is registered twice");
    if (options.worker !== false) {
      this.#worker = new Worker({
        store: this.store,
        committer: this.#committer,
        definitions: this.#definitions,
        workerId: this.workerId,
        concurrency: positiveInteger("concurrency", options.concurrency ?? 32),
        leaseMs: this.#leaseMs,
        pollIntervalMs: positiveInteger("pollIntervalMs", options.pollIntervalMs ?? 1_000),
        clock: this.#clock,
        random: options.random ?? Math.random,
        logger: this.#logger,
        onTransition: (notice) => this.#emit(notice),
        wrapAttempt: options.wrapAttempt,
      });
    }
  }

  /** Prepares the store (migrations) and starts the worker. */
  static async create(options: OrchestratorOptions): Promise<Orchestrator> {
    const orchestrator = new Orchestrator(options);
    await orchestrator.store.init();
    orchestrator.#worker?.start();
    if (orchestrator.#worker !== undefined) await orchestrator.#reportVersionsInUse();
    return orchestrator;
  }

  /**
   * Which definition versions unfinished sagas need, said at start-up: a version this worker does
   * not run leaves its sagas waiting (never run with the wrong code) until a worker that runs it
   * comes, so a deploy that dropped it too early shows here.
   */
  async #reportVersionsInUse(): Promise<void> {
    let needed: Awaited<ReturnType<SagaStore["countUnfinishedByDefinition"]>>;
    try {
      needed = await this.store.countUnfinishedByDefinition();
    } catch (error) {
      this.#logger.warn({ err: error }, "could not count unfinished sagas by definition version");
      return;
    }
    const runs = [...this.#definitions.keys()];
    const missing = needed.filter((entry) => !this.#definitions.has(definitionKey(entry.definitionName, entry.definitionVersion)));
    this.#logger.info(
      { runs, unfinished: needed.map((entry) => `${definitionKey(entry.definitionName, entry.definitionVersion)}: ${entry.count}`) },
      "definition versions this worker runs, and unfinished sagas by version",
    );
    for (const entry of missing) {
      const version = definitionKey(entry.definitionName, entry.definitionVersion);
      this.#logger.warn(
        { definition: version, sagas: entry.count, examples: await this.#unfinishedIds(entry.definitionName, entry.definitionVersion), runs },
        `${entry.count} unfinished saga(s) of ${version} wait for a worker that runs that version; this one does not, so it leaves them alone`,
      );
    }
  }

  /** A few ids of a version's unfinished sagas, newest first, for the start-up warning. */
  async #unfinishedIds(name: string, version: number): Promise<string[]> {
    const page = await this.store.listInstances({ definitionName: name, statuses: ["running", "compensating"], limit: 200 });
    return page.items.filter((state) => state.definitionVersion === version).slice(0, MAX_EXAMPLE_IDS).map((state) => state.id);
  }

  /**
   * Starts a saga. When this resolves, the saga is durable (G2): a crash from here on does not lose it.
   * Pass the definition object for a typed input, or its name for the latest registered version.
   */
  async start<D extends AnyDefinition>(definition: D | string, input: InputOf<D>, options: StartOptions = {}): Promise<StartResult> {
    this.#assertOpen();
    const resolved = this.#resolve(definition);
    const parsed = resolved.parseInput ? parseWith(resolved, input) : input;
    const inputJson = toJsonValue(parsed, sagaInput);
    const id = options.id ?? newSagaId();
    if (!ID_PATTERN.test(id)) throw new InvalidArgumentError("id", `must be 1–128 letters, digits, '_', '.' or '-', got ${JSON.stringify(id)}`);
    const key = options.idempotencyKey ?? null;
    if (key !== null && (typeof key !== "string" || key.length === 0 || key.length > 512)) {
      throw new InvalidArgumentError("idempotencyKey", "must be a non-empty string of at most 512 characters");
    }
    const { deadlineMs } = options;
    if (deadlineMs !== undefined && (!Number.isSafeInteger(deadlineMs) || deadlineMs < 1)) {
      throw new InvalidArgumentError("deadlineMs", `must be a positive integer of milliseconds, got ${String(deadlineMs)}`);
    }
    const now = this.#clock.now();
    // Built up rather than spread from an optional part: an object spread takes V8's slow path, once per start.
    const params: NewSagaParams = { id, input: inputJson, idempotencyKey: key, nowMs: now, definitionHash: shapeOf(resolved) };
    if (deadlineMs !== undefined) params.deadlineAtMs = now + deadlineMs;
    const initial = createInitialState(resolved.plan, params);

    // Fast path: claim the new saga in the same write and run its first step without a round trip.
    // Either way the create goes to the store with the next group commit, and this resolves only
    // after that transaction is durable (G2).
    const reserved = this.#worker?.tryReserve() === true;
    let outcome;
    let commands: ReturnType<typeof decide>["commands"] = [];
    let firstHistory = initial.history;
    try {
      if (reserved) {
        const decision = decide(resolved.plan, initial.state, { type: "claimed" }, now);
        commands = decision.commands;
        firstHistory = concatExact(initial.history, decision.history);
        // Nothing to run (the first step waits for an outside answer): the saga is created
        // waiting and unleased, so an answer is taken at once rather than after the lease.
        const request: CreateInstanceRequest = { state: decision.state, history: firstHistory };
        if (commands.length > 0) request.lease = { owner: this.workerId, expiresAtMs: now + this.#leaseMs };
        outcome = await this.#committer.create(request);
      } else {
        outcome = await this.#committer.create({ state: initial.state, history: initial.history });
      }
    } catch (error) {
      if (reserved) this.#worker?.unreserve();
      throw error;
    }
    if (!outcome.ok) {
      if (reserved) this.#worker?.unreserve();
      throw outcome.error;
    }
    const result = outcome.result;
    const { record } = result;
    if (!result.created) {
      if (reserved) this.#worker?.unreserve();
      if (record.state.definitionName !== resolved.name && key !== null) {
        throw new IdempotencyKeyConflictError(key, record.state.id, record.state.definitionName, resolved.name);
      }
      return { id: record.state.id, created: false, state: record.state };
    }
    // Subscribers hear of the first commit (started, and the first attempt when claimed) before that attempt runs.
    this.#emit({ sagaId: id, state: record.state, history: firstHistory, workerId: this.workerId, epoch: record.epoch });
    if (reserved && this.#worker && commands.length > 0) {
      this.#worker.adopt(resolved, record.state, record.epoch, commands, record.leaseExpiresAtMs);
    } else {
      if (reserved) this.#worker?.unreserve();
      this.#worker?.wake();
    }
    return { id, created: true, state: record.state };
  }

  /** The instance's current state; throws SagaNotFoundError. */
  async get(sagaId: string): Promise<SagaState> {
    const record = await this.store.getInstance(sagaId);
    if (record === null) throw new SagaNotFoundError(sagaId);
    return record.state;
  }

  /** Every transition of the instance, oldest first (G6). */
  async history(sagaId: string): Promise<StoredHistoryEntry[]> {
    if ((await this.store.getInstance(sagaId)) === null) throw new SagaNotFoundError(sagaId);
    return this.store.getHistory(sagaId);
  }

  list(query: ListQuery): Promise<ListPage> {
    return this.store.listInstances(query);
  }

  /**
   * Asks a running saga to roll back: whatever completed is compensated, newest first.
   * A step that is running is allowed to settle first (G4). Refused for a finished saga and
   * for one past its pivot step; a saga already compensating is left as it is.
   */
  async cancel(sagaId: string, options: CancelOptions = {}): Promise<void> {
    this.#assertOpen();
    await requestCancel(this.store, this.#clock.now(), sagaId, options);
    this.#worker?.wake();
  }

  /**
   * Answers a waiting step (see `SagaBuilder.waitStep`) with its output; the saga goes on with the
   * next step. Throws `StepNotFoundError`, or `StepNotWaitingError` when the step is not waiting
   * now (not reached yet, answered already, timed out or cancelled): an answer is taken once.
   */
  async completeStep(sagaId: string, step: string, output: unknown, options: AnswerOptions = {}): Promise<void> {
    const attempt = await this.#waitingAttempt(sagaId, step);
    const json = toJsonValue(output, theOutputOfStep, step);
    await this.#deliverAnswer(sagaId, step, { type: "step_completed", step, attempt, output: json, by: options.by ?? "api" });
  }

  /**
   * Fails a waiting step: for good (the saga compensates what completed) unless `retryable`, which
   * lets the step's retry policy wait for another answer. Throws like `completeStep`.
   */
  async failStep(sagaId: string, step: string, error: { message: string; name?: string; code?: string }, options: AnswerOptions & { retryable?: boolean } = {}): Promise<void> {
    if (typeof error?.message !== "string" || error.message === "") throw new InvalidArgumentError("error.message", "must be a non-empty string");
    const attempt = await this.#waitingAttempt(sagaId, step);
    const info: ErrorInfo = { name: error.name ?? "StepFailedError", message: error.message, ...(error.code === undefined ? {} : { code: error.code }) };
    await this.#deliverAnswer(sagaId, step, { type: "step_failed", step, attempt, error: info, retryable: options.retryable ?? false, by: options.by ?? "api" });
  }

  /**
   * Delivers a named event (e.g. "manager-approved") with its payload to a saga. A step waiting
   * for that name (`waitStep(name, { event })`) takes the payload as its output and the saga goes
   * on; an event that arrives before the saga waits for it is kept, durably, until it does. A
   * delivery whose id the saga already received is a duplicate: it changes nothing, and resolves
   * `{ duplicate: true }` once the saga recorded the first (a saga reads its inbox between steps,
   * so a duplicate sent while a step runs is delivered, and recorded once all the same). Throws `SagaNotFoundError`, `SagaEndedError` for a saga that ended, and
   * `InvalidArgumentError` for a name or id that is not a simple name or a payload that is not JSON.
   */
  async signal(sagaId: string, name: string, payload: unknown = null, options: SignalOptions = {}): Promise<{ duplicate: boolean }> {
    this.#assertOpen();
    const outcome = await deliverSignal(this.store, this.#clock.now(), sagaId, name, payload, options);
    if (!outcome.duplicate) this.#worker?.wake();
    return outcome;
  }

  /**
   * Adds a definition to a running orchestrator (declarative sagas registered over the API): new
   * starts may use it, and this worker from now on claims its instances. A `name@version` is
   * registered once; a new version becomes the default for starts by name, while running
   * instances finish on the version they started with.
   */
  register(definition: AnyDefinition): void {
    this.#assertOpen();
    this.#add(definition, "is already registered; a changed definition needs a new version");
    this.#worker?.definitionsChanged();
  }

  /**
   * Reopens a `failed` saga, once an operator fixed what made it fail: its outstanding
   * compensations run again (then it ends `compensated`), or the step it was parked on after its
   * pivot or by the recovery limit runs again, each with a fresh retry budget and the same
   * idempotency key. Recorded in its history with who asked and why. Throws
   * `RetryNotAllowedError` for a saga that is not failed.
   */
  async retry(sagaId: string, options: CancelOptions = {}): Promise<void> {
    this.#assertOpen();
    await requestRetry(this.store, this.#clock.now(), sagaId, options);
    this.#worker?.wake();
  }

  /**
   * Moves a saga that has not ended onto another version of its definition (registered here), when
   * the steps line up: every step it has reached (and the rest of a parallel group it is in) has
   * the same name and shape in both versions. What it has done is kept; the steps after them are
   * the new version's. The saga must be between steps (waiting, asleep, in a backoff, or waiting
   * for a worker): a saga whose step is running right now is refused, so try again. Recorded in
   * its history (`migrated`, with who and why); returns the moved state. Throws
   * `RepairNotAllowedError` with the reason it does not line up, `UnknownDefinitionError` for a
   * version not registered here, `InvalidArgumentError` without a reason.
   */
  async migrate(sagaId: string, toVersion: number, options: CancelOptions & { reason: string }): Promise<SagaState> {
    this.#assertOpen();
    const reason = requireReason(options?.reason);
    const record = await this.store.getInstance(sagaId);
    if (record === null) throw new SagaNotFoundError(sagaId);
    const { state } = record;
    const what = `move to version ${toVersion}`;
    if (isTerminal(state.status)) throw new RepairNotAllowedError(sagaId, what, `it already ended ${state.status}`);
    if (state.definitionVersion === toVersion) throw new RepairNotAllowedError(sagaId, what, `it already runs version ${toVersion}`);
    const target = this.#definitions.get(definitionKey(state.definitionName, toVersion));
    if (target === undefined) throw new UnknownDefinitionError(state.definitionName, toVersion);
    const source = this.#definitions.get(definitionKey(state.definitionName, state.definitionVersion));
    const mismatch = migrationMismatch(state, source?.plan, target.plan);
    if (mismatch !== null) throw new RepairNotAllowedError(sagaId, what, mismatch);
    const now = this.#clock.now();
    const reached = reachedSteps(state, target.plan);
    const moved: SagaState = {
      ...state,
      definitionVersion: toVersion,
      definitionHash: shapeOf(target),
      steps: target.plan.steps.map((step, index) => (index < reached ? (state.steps[index] as SagaState["steps"][number]) : { name: step.name, action: freshPhase(), compensation: freshPhase() })),
      updatedAtMs: now,
    };
    const outcome = await this.store.moveInstance({
      sagaId,
      epoch: record.epoch,
      nowMs: now,
      state: moved,
      history: [{ type: "migrated", atMs: now, fromVersion: state.definitionVersion, toVersion, reason, by: options.by ?? "api" }],
    });
    if (!outcome.moved) {
      if (outcome.reason === "not_found") throw new SagaNotFoundError(sagaId);
      throw new RepairNotAllowedError(
        sagaId,
        what,
        outcome.reason === "leased"
          ? "a worker is running one of its steps right now; move it while it waits (between steps, waiting, asleep or in a backoff)"
          : "it changed while being moved; read it again and retry",
      );
    }
    this.#worker?.wake();
    return moved;
  }

  /**
   * Stops a saga without compensating, for emergencies (a participant misbehaving): a step or
   * compensation in flight settles, nothing else starts, and the saga ends `failed` with the
   * compensations it did not run outstanding (a later `retry` runs them). Unlike `cancel`, which
   * rolls back. Throws `RepairNotAllowedError` for a saga that ended or was aborted already, and
   * `InvalidArgumentError` without a reason.
   */
  async abort(sagaId: string, options: CancelOptions & { reason: string }): Promise<void> {
    this.#assertOpen();
    await requestAbort(this.store, this.#clock.now(), sagaId, options);
    this.#worker?.wake();
  }

  /**
   * Skips an outstanding compensation of a `failed` saga — it was done by hand, or turned out not
   * to be needed — with a reason kept in the history; the compensations after it in the order then
   * run, and with none left the saga ends `compensated`. Throws `RepairNotAllowedError` when the saga
   * is not failed or that compensation is not outstanding (an outstanding action is retried, not
   * skipped), `InvalidArgumentError` without a reason.
   */
  async skipCompensation(sagaId: string, step: string, options: CancelOptions & { reason: string }): Promise<void> {
    this.#assertOpen();
    await requestSkip(this.store, this.#clock.now(), sagaId, step, options);
    this.#worker?.wake();
  }

  /**
   * Marks a `failed` saga resolved (an operator settled what was outstanding outside Sagaflow): it
   * stays `failed` — that is what happened — with who resolved it and why, and no longer needs
   * attention. Throws `RepairNotAllowedError` unless the saga is failed and not resolved yet.
   */
  async resolve(sagaId: string, options: CancelOptions & { reason: string }): Promise<void> {
    this.#assertOpen();
    await requestResolve(this.store, this.#clock.now(), sagaId, options);
    this.#worker?.wake();
  }

  /**
   * Resolves with the final state once the saga ends, or rejects after `timeoutMs`. Hears of this
   * process's transitions at once, and reads the store every 500 ms for a saga another process
   * drives. Any number of sagas can be waited for at once: a transition costs only its own
   * saga's waiters anything.
   */
  async waitFor(sagaId: string, timeoutMs = 60_000): Promise<SagaState> {
    return new Promise<SagaState>((resolve, reject) => {
      let settled = false;
      const finish = (state: SagaState | Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(poll);
        this.#stopWaiting(sagaId, ended);
        if (state instanceof Error) reject(state);
        else resolve(state);
      };
      const ended = (state: SagaState): void => finish(state);
      const waiting = this.#waiters.get(sagaId);
      if (waiting === undefined) this.#waiters.set(sagaId, [ended]);
      else waiting.push(ended);
      const check = (): void => {
        this.get(sagaId).then(
          (state) => {
            if (isTerminal(state.status)) finish(state);
          },
          (error: unknown) => finish(error instanceof Error ? error : new Error(String(error))),
        );
      };
      const timer = setTimeout(() => finish(new Error(`saga ${sagaId} did not end within ${timeoutMs} ms`)), timeoutMs);
      // Another process may drive it; a slow poll catches transitions this process never sees.
      const poll = setInterval(check, 500);
      check();
    });
  }

  #stopWaiting(sagaId: string, ended: (state: SagaState) => void): void {
    const waiting = this.#waiters.get(sagaId);
    if (waiting === undefined) return;
    const index = waiting.indexOf(ended);
    if (index >= 0) waiting.splice(index, 1);
    if (waiting.length === 0) this.#waiters.delete(sagaId);
  }

  /** Resolves when this worker holds nothing and no unfinished saga is left in the store. */
  async runUntilIdle(): Promise<void> {
    if (!this.#worker) throw new InvalidArgumentError("worker", "must be enabled to run until idle");
    await this.#worker.whenIdle();
  }

  /** Subscribes to every transition this process commits; returns the unsubscribe function. */
  onTransition(listener: (notice: TransitionNotice) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Stops the worker (running attempts get `graceMs` to finish) and closes the store. */
  async close(graceMs = 10_000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#worker?.stop(graceMs);
    await this.store.close();
  }

  /** Definitions this orchestrator can run, by `name@version`. */
  get definitions(): ReadonlyMap<string, ErasedDefinition> {
    return this.#definitions;
  }

  #emit(notice: TransitionNotice): void {
    for (const listener of this.#listeners) {
      try {
        listener(notice);
      } catch {
        // A subscriber's bug must not stop the saga it watches.
      }
    }
    if (this.#waiters.size > 0 && isTerminal(notice.state.status)) {
      const waiting = this.#waiters.get(notice.sagaId);
      // A copy: each waiter takes itself off the list as it is told.
      if (waiting !== undefined) for (const ended of [...waiting]) ended(notice.state);
    }
  }

  #resolve(definition: AnyDefinition | string): ErasedDefinition {
    if (typeof definition === "string") {
      const latest = this.#latest.get(definition);
      if (latest === undefined) throw new UnknownDefinitionError(definition);
      return latest;
    }
    const known = this.#byObject.get(definition);
    if (known !== undefined) return known;
    const found = this.#definitions.get(definitionKey(definition.name, definition.version));
    if (found === undefined) throw new UnknownDefinitionError(definition.name, definition.version);
    this.#byObject.set(definition, found);
    return found;
  }

  /** The attempt a waiting step waits on now; throws why there is none. */
  async #waitingAttempt(sagaId: string, step: string): Promise<number> {
    this.#assertOpen();
    const record = await this.store.getInstance(sagaId);
    if (record === null) throw new SagaNotFoundError(sagaId);
    const { state } = record;
    const index = state.steps.findIndex((s) => s.name === step);
    if (index < 0) throw new StepNotFoundError(sagaId, step, state.steps.map((s) => s.name));
    const plan = this.#definitions.get(definitionKey(state.definitionName, state.definitionVersion))?.plan.steps[index];
    if (plan !== undefined && plan.wait !== true) throw new StepNotWaitingError(sagaId, step, "it runs an action of its own");
    const action = state.steps[index]?.action;
    if (isTerminal(state.status)) throw new StepNotWaitingError(sagaId, step, `the saga already ended ${state.status}`);
    if (action?.status !== "running") throw new StepNotWaitingError(sagaId, step, `its action is ${action?.status ?? "unknown"}`);
    return action.attempt;
  }

  async #deliverAnswer(sagaId: string, step: string, answer: InboxPayload): Promise<void> {
    const outcome = await this.store.deliver(sagaId, answer, this.#clock.now());
    if (!outcome.accepted) {
      if (outcome.reason === "not_found") throw new SagaNotFoundError(sagaId);
      throw new StepNotWaitingError(sagaId, step, `the saga already ended ${outcome.status}`);
    }
    this.#worker?.wake();
  }

  #add(definition: AnyDefinition, duplicate: string): void {
    const key = definitionKey(definition.name, definition.version);
    if (this.#definitions.has(key)) throw new InvalidDefinitionError(definition.name, "version", `${definition.version} ${duplicate}`);
    this.#definitions.set(key, definition as ErasedDefinition);
    const latest = this.#latest.get(definition.name);
    if (latest === undefined || latest.version < definition.version) this.#latest.set(definition.name, definition as ErasedDefinition);
  }

  #assertOpen(): void {
    if (this.#closed) throw new OrchestratorClosedError();
  }
}

/**
 * Runs a definition's `parseInput`. A refusal that is not already a Sagaflow error (a plain
 * `Error`, a validation library's own) becomes an `InvalidArgumentError` naming `input`, so every
 * caller (the HTTP API's 400 included) can tell a bad input from a failure of its own.
 */
function parseWith(definition: ErasedDefinition, input: unknown): unknown {
  try {
    return definition.parseInput?.(input);
  } catch (error) {
    if (error instanceof SagaflowError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new InvalidArgumentError("input", `was refused by ${definition.name}@${definition.version}'s parseInput: ${message}`);
  }
}

function positiveInteger(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new InvalidArgumentError(field, `must be a positive integer, got ${String(value)}`);
  return value;
}

function freshPhase(): SagaState["steps"][number]["action"] {
  return { status: "pending", attempt: 0, failures: 0 };
}

/** How many steps, from the first, the saga has reached (anything but untouched), widened to the end of a parallel group. */
function reachedSteps(state: SagaState, plan: SagaPlan): number {
  let reached = 0;
  state.steps.forEach((step, index) => {
    const compensation = step.compensation.status;
    if (step.action.status !== "pending" || (compensation !== "pending" && compensation !== "not_needed")) reached = index + 1;
  });
  const group = plan.steps[reached - 1]?.group?.name;
  while (group !== undefined && plan.steps[reached]?.group?.name === group) reached++;
  return reached;
}

/** Why the saga's steps do not line up with the target version's, or null when they do. */
function migrationMismatch(state: SagaState, source: SagaPlan | undefined, target: SagaPlan): string | null {
  const reached = reachedSteps(state, target);
  for (let index = 0; index < reached; index++) {
    const had = state.steps[index]?.name;
    const next = target.steps[index];
    if (next === undefined || next.name !== had) {
      return `its step ${index + 1} is ${JSON.stringify(had ?? "(none)")}, and version ${target.version} has ${next === undefined ? "no such step" : JSON.stringify(next.name)} there: the steps it reached must line up`;
    }
    const old = source?.steps[index];
    if (old !== undefined) {
      const differs = (["pivot", "hasCompensation", "wait", "event"] as const).find((field) => (old[field] ?? false) !== (next[field] ?? false));
      if (differs !== undefined) return `step ${next.name} differs in ${differs} between the versions, and the saga already reached it`;
      if ((old.sleep?.kind ?? null) !== (next.sleep?.kind ?? null) || (old.group?.name ?? null) !== (next.group?.name ?? null)) return `step ${next.name} is another kind of step in version ${target.version}, and the saga already reached it`;
    }
  }
  return null;
}

