import type { SagaPlan, StepPlan } from "../domain/plan.js";
import type { RetryPolicy } from "../domain/retry-policy.js";
import { InvalidDefinitionError } from "../errors.js";
import { DEFAULT_ACTION_RETRY, DEFAULT_COMPENSATION_RETRY, DEFAULT_MAX_RECOVERIES } from "./retry-defaults.js";
import { describe, requireBoolean, requireFunction, requireInteger, requireName, resolveRetryPolicy } from "./validate.js";

/** What an action sees. `outputs` holds the results of the steps before it, typed by name. */
export interface StepContext<Input, Outputs> {
  readonly sagaId: string;
  readonly step: string;
  /** 1 for the first attempt; grows with every retry and every recovery. */
  readonly attempt: number;
  /**
   * Stable across attempts, retries, recoveries and workers (G3): `<sagaId>:<step>`.
   * Pass it to the participant so that a repeated call takes effect once.
   */
  readonly idempotencyKey: string;
  readonly input: Input;
  readonly outputs: Outputs;
  /** Aborted when the attempt times out or the worker shuts down; pass it to fetch() and friends. */
  readonly signal: AbortSignal;
}

/** What a compensation sees: its own step's output besides the action's context. */
export interface CompensationContext<Input, Outputs, Output> extends StepContext<Input, Outputs> {
  /** The action's output; `null` when the action failed or timed out and may still have left effects. */
  readonly output: Output | null;
  /** `<sagaId>:<step>:compensate`, stable like the action's key. */
  readonly idempotencyKey: string;
}

/** Retry options; anything left out takes the default (see DEFAULT_ACTION_RETRY). */
export type RetryOptions = Partial<Omit<RetryPolicy, "terminalErrors">> & { terminalErrors?: readonly string[] };

export interface StepOptions<Input, Outputs, Output> {
  /** Does the work. Its result is persisted as JSON before the next step starts. */
  action: (ctx: StepContext<Input, Outputs>) => Promise<Output> | Output;
  /** Undoes the action. Leave it out for read-only and pivot steps. */
  compensate?: (ctx: CompensationContext<Input, Outputs, Output>) => unknown;
  /** Default: 3 attempts, 100 ms → 10 s exponential backoff with full jitter. */
  retry?: RetryOptions;
  /** Per-attempt limit in ms; 0 (default) means none. */
  timeoutMs?: number;
  /** Default: 10 attempts, 200 ms → 30 s. */
  compensationRetry?: RetryOptions;
  compensationTimeoutMs?: number;
  /** After a pivot step succeeds the saga only rolls forward. Default false. */
  pivot?: boolean;
  /** Compensate this step even when its action failed for good (its failure may leave effects). Default false. */
  compensateOnFailure?: boolean;
}

/** A step that waits for an answer from outside instead of running an action of its own. */
export interface WaitStepOptions<Input, Outputs, Output> {
  /**
   * How long each attempt waits for `completeStep`/`failStep` (or the HTTP API's equivalents) in
   * ms; 0 (default) waits forever. A wait that times out fails the attempt like a timed-out call:
   * retried (waiting again) under `retry`, then compensated if it had a compensation.
   */
  timeoutMs?: number;
  /**
   * Answered by the named event (`Orchestrator.signal`, `POST …/signals/{name}`, `sagaflow
   * signal`) instead of `completeStep`: its payload becomes the step's output. An event that
   * arrives before the saga reaches the step is kept and taken when it does.
   */
  event?: string;
  /** Undoes whatever the answer stood for (e.g. withdraw an approval request). */
  compensate?: (ctx: CompensationContext<Input, Outputs, Output>) => unknown;
  /** Default: one attempt (an outside answer is not retried unless asked for). */
  retry?: RetryOptions;
  compensationRetry?: RetryOptions;
  compensationTimeoutMs?: number;
  pivot?: boolean;
  compensateOnFailure?: boolean;
}

/**
 * A durable timer: the saga sleeps, holding no worker and surviving restarts, for `durationMs`
 * from when the step starts, or until the time `until` returns (computed once, when the step
 * starts, from the input and earlier outputs: a `Date` or epoch milliseconds). Its output is
 * `{ sleptUntilMs }`. Exactly one of the two.
 */
export type SleepStepOptions<Input, Outputs> =
  | { durationMs: number; until?: never; pivot?: boolean }
  | { until: (ctx: StepContext<Input, Outputs>) => Date | number | Promise<Date | number>; durationMs?: never; pivot?: boolean };

/** What a sleep step's later steps see as its output. */
export interface SleepOutput {
  sleptUntilMs: number;
}

/** How a parallel group reacts when one of its steps fails for good. */
export interface ParallelOptions {
  /**
   * `wait` (default): siblings in flight finish their attempt (none is retried), then the rollback
   * starts. `cancel`: their attempts are aborted (their `signal` fires); an aborted sibling counts
   * as having maybe taken effect, so it is compensated too.
   */
  onFailure?: "wait" | "cancel";
}

/** A step as the runtime holds it: the plan plus its functions, with the types erased. */
export interface StepRuntime {
  readonly plan: StepPlan;
  readonly action: (ctx: StepContext<unknown, Record<string, unknown>>) => unknown;
  readonly compensate?: (ctx: CompensationContext<unknown, Record<string, unknown>, unknown>) => unknown;
}

/** A validated, immutable saga definition. `Input` and `Outputs` only carry types. */
export interface SagaDefinition<Input = unknown, Outputs = Record<string, unknown>> {
  readonly name: string;
  readonly version: number;
  readonly plan: SagaPlan;
  readonly steps: readonly StepRuntime[];
  /** Checks and narrows an input before a saga is started; throw to refuse it. */
  readonly parseInput?: (input: unknown) => Input;
  /** Phantom fields for type inference; never set at run time. */
  readonly __types?: { input: Input; outputs: Outputs };
}

export interface SagaOptions<Input> {
  name: string;
  /** A positive integer; a running instance always finishes on the version it started with. */
  version: number;
  /** Default 10. */
  maxRecoveries?: number;
  /**
   * How long an instance may take going forward, in ms from its start (a start may set its own):
   * once it passes, a saga that has not passed its pivot rolls back as if cancelled. Default none.
   */
  deadlineMs?: number;
  parseInput?: (input: unknown) => Input;
}

/**
 * Builds a saga step by step; each `step()` returns a new builder whose later steps see
 * this step's output under its name.
 *
 * @example
 * const order = defineSaga<{ orderId: string }>({ name: "order", version: 1 })
 *   .step("reservePayment", {
 *     action: ({ input, idempotencyKey }) => payments.reserve(input.orderId, idempotencyKey),
 *     compensate: ({ output, idempotencyKey }) => payments.release(output, idempotencyKey),
 *   })
 *   .step("ship", { action: ({ outputs }) => shipping.create(outputs.reservePayment.id) })
 *   .build();
 */
export class SagaBuilder<Input, Outputs extends Record<string, unknown>> {
  readonly #options: SagaOptions<Input>;
  readonly #steps: readonly StepRuntime[];

  /** @internal use defineSaga() */
  constructor(options: SagaOptions<Input>, steps: readonly StepRuntime[]) {
    this.#options = options;
    this.#steps = steps;
  }

  step<Name extends string, Output>(
    name: Name extends keyof Outputs ? never : Name,
    options: StepOptions<Input, Outputs, Output>,
  ): SagaBuilder<Input, Outputs & { readonly [K in Name]: Output }> {
    const saga = this.#options.name;
    const index = this.#steps.length;
    const field = `steps[${index}]`;
    requireName(saga, `${field}.name`, name);
    if (this.#steps.some((step) => step.plan.name === name)) {
      throw new InvalidDefinitionError(saga, `${field}.name`, `must be unique, but ${JSON.stringify(name)} is already step ${this.#steps.findIndex((s) => s.plan.name === name)}`);
    }
    if (typeof options !== "object" || options === null) {
      throw new InvalidDefinitionError(saga, field, `options must be an object, got ${describe(options)}`);
    }
    const known = new Set(["action", "compensate", "retry", "timeoutMs", "compensationRetry", "compensationTimeoutMs", "pivot", "compensateOnFailure"]);
    for (const key of Object.keys(options)) {
      if (!known.has(key)) throw new InvalidDefinitionError(saga, `${field}.${key}`, `is not a step option (known: ${[...known].join(", ")})`);
    }
    requireFunction(saga, `${field}.action`, options.action);
    if (options.compensate !== undefined) requireFunction(saga, `${field}.compensate`, options.compensate);
    const pivot = requireBoolean(saga, `${field}.pivot`, options.pivot ?? false);
    const compensateOnFailure = requireBoolean(saga, `${field}.compensateOnFailure`, options.compensateOnFailure ?? false);
    if (compensateOnFailure && options.compensate === undefined) {
      throw new InvalidDefinitionError(saga, `${field}.compensateOnFailure`, "needs a compensate function to run");
    }
    const plan: StepPlan = Object.freeze({
      name,
      pivot,
      hasCompensation: options.compensate !== undefined,
      compensateOnFailure,
      retry: resolveRetryPolicy(saga, `${field}.retry`, options.retry, DEFAULT_ACTION_RETRY),
      timeoutMs: requireInteger(saga, `${field}.timeoutMs`, options.timeoutMs ?? 0, 0),
      compensationRetry: resolveRetryPolicy(saga, `${field}.compensationRetry`, options.compensationRetry, DEFAULT_COMPENSATION_RETRY),
      compensationTimeoutMs: requireInteger(saga, `${field}.compensationTimeoutMs`, options.compensationTimeoutMs ?? 0, 0),
    });
    const runtime: StepRuntime = Object.freeze({
      plan,
      action: options.action as StepRuntime["action"],
      ...(options.compensate ? { compensate: options.compensate as StepRuntime["compensate"] } : {}),
    });
    return new SagaBuilder(this.#options, [...this.#steps, runtime]);
  }

  /**
   * A step that waits, holding no worker, until someone outside answers it with
   * `orchestrator.completeStep(sagaId, name, output)` or `failStep` (HTTP: `POST
   * /api/v1/sagas/{id}/steps/{name}/complete` or `/fail`): a human approval, a callback from a
   * service that works asynchronously, a reply over a message broker. Its output is the answer's.
   */
  waitStep<Name extends string, Output = unknown>(
    name: Name extends keyof Outputs ? never : Name,
    options: WaitStepOptions<Input, Outputs, Output> = {},
  ): SagaBuilder<Input, Outputs & { readonly [K in Name]: Output }> {
    const field = `steps[${this.#steps.length}]`;
    if (typeof options !== "object" || options === null) {
      throw new InvalidDefinitionError(this.#options.name, field, `options must be an object, got ${describe(options)}`);
    }
    if ("action" in options) throw new InvalidDefinitionError(this.#options.name, `${field}.action`, "is not an option of a waiting step: its answer comes from outside");
    const { event, ...stepOptions } = options;
    const eventName = event === undefined ? undefined : requireName(this.#options.name, `${field}.event`, event);
    const built = this.step<Name, Output>(name, { ...stepOptions, retry: options.retry ?? { maxAttempts: 1 }, action: waitingAction(name) });
    const steps = built.#steps;
    const last = steps[steps.length - 1] as StepRuntime;
    const plan: StepPlan = eventName === undefined ? { ...last.plan, wait: true } : { ...last.plan, wait: true, event: eventName };
    const runtime: StepRuntime = Object.freeze({ ...last, plan: Object.freeze(plan) });
    return new SagaBuilder(this.#options, [...steps.slice(0, -1), runtime]);
  }

  /**
   * A durable timer step (see `SleepStepOptions`): a sleep of a duration, or until a time, that
   * survives restarts and costs no worker while it sleeps. A cancel ends the sleep (it undid
   * nothing, so it needs no compensation) and compensates what completed before it.
   */
  sleepStep<Name extends string>(
    name: Name extends keyof Outputs ? never : Name,
    options: SleepStepOptions<Input, Outputs>,
  ): SagaBuilder<Input, Outputs & { readonly [K in Name]: SleepOutput }> {
    const saga = this.#options.name;
    const field = `steps[${this.#steps.length}]`;
    if (typeof options !== "object" || options === null) throw new InvalidDefinitionError(saga, field, `options must be an object, got ${describe(options)}`);
    for (const key of Object.keys(options)) {
      if (key !== "durationMs" && key !== "until" && key !== "pivot") throw new InvalidDefinitionError(saga, `${field}.${key}`, "is not a sleep step option (known: durationMs, until, pivot)");
    }
    const hasDuration = options.durationMs !== undefined;
    if (hasDuration === (options.until !== undefined)) throw new InvalidDefinitionError(saga, field, "needs exactly one of durationMs and until");
    let sleep: NonNullable<StepPlan["sleep"]>;
    let action: StepOptions<Input, Outputs, number>["action"];
    if (hasDuration) {
      sleep = { kind: "duration", durationMs: requireInteger(saga, `${field}.durationMs`, options.durationMs, 0) };
      action = sleepingAction(name);
    } else {
      requireFunction(saga, `${field}.until`, options.until);
      const until = options.until;
      sleep = { kind: "until" };
      action = async (ctx) => epochMs(await until(ctx), `${saga}.${name}: until`);
    }
    const built = this.step<Name, number>(name, { action, ...(options.pivot === undefined ? {} : { pivot: options.pivot }) });
    const steps = built.#steps;
    const last = steps[steps.length - 1] as StepRuntime;
    const runtime: StepRuntime = Object.freeze({ ...last, plan: Object.freeze({ ...last.plan, sleep: Object.freeze(sleep) }) });
    return new SagaBuilder(this.#options, [...steps.slice(0, -1), runtime]);
  }

  /**
   * Steps that run at the same time (reserve the flight, the hotel and the car at once). Each keeps
   * its own name, retry policy and compensation, and its output is seen under its name by the
   * steps after the group (not by its siblings). The saga goes on once all of them succeeded; if
   * one fails for good, the group settles as `onFailure` says and every sibling that may have taken
   * effect is compensated, then the earlier steps, newest first.
   *
   * @example
   * .parallel("reservations", (group) => group
   *   .step("flight", { action: reserveFlight, compensate: ({ output }) => cancelFlight(output!.ref) })
   *   .step("hotel", { action: reserveHotel, compensate: ({ output }) => cancelHotel(output!.ref) }),
   *   { onFailure: "cancel" })
   */
  parallel<GroupOutputs extends Record<string, unknown>>(
    group: string,
    members: (group: ParallelGroup<Input, Outputs, Record<never, never>>) => ParallelGroup<Input, Outputs, GroupOutputs>,
    options: ParallelOptions = {},
  ): SagaBuilder<Input, Outputs & GroupOutputs> {
    const saga = this.#options.name;
    const field = `steps[${this.#steps.length}]`;
    requireName(saga, `${field}.group`, group);
    if (this.#steps.some((step) => step.plan.group?.name === group)) throw new InvalidDefinitionError(saga, `${field}.group`, `must be unique, but ${JSON.stringify(group)} names an earlier group`);
    requireFunction(saga, `${field}.members`, members);
    const onFailure = options.onFailure ?? "wait";
    if (onFailure !== "wait" && onFailure !== "cancel") throw new InvalidDefinitionError(saga, `${field}.onFailure`, `must be "wait" or "cancel", got ${describe(onFailure)}`);
    const declared = members(new ParallelGroup<Input, Outputs, Record<never, never>>([])).steps;
    if (declared.length < 2) throw new InvalidDefinitionError(saga, field, `a parallel group needs at least two steps, got ${declared.length}`);
    let builder: SagaBuilder<Input, Record<string, unknown>> = new SagaBuilder(this.#options, this.#steps);
    for (const { name, options: stepOptions } of declared) {
      if ((stepOptions as { pivot?: unknown } | null)?.pivot === true) throw new InvalidDefinitionError(saga, `${field}.${name}.pivot`, "a step of a parallel group cannot be the pivot: its siblings may still roll back");
      builder = builder.step(name as never, stepOptions as StepOptions<Input, Record<string, unknown>, unknown>);
    }
    const member = Object.freeze({ name: group, onFailure });
    const grouped = builder.#steps.map((step, index) => (index < this.#steps.length ? step : Object.freeze({ ...step, plan: Object.freeze({ ...step.plan, group: member }) })));
    return new SagaBuilder(this.#options, grouped);
  }

  /** Freezes the definition. Throws InvalidDefinitionError for a saga without steps. */
  build(): SagaDefinition<Input, Outputs> {
    const saga = this.#options.name;
    if (this.#steps.length === 0) throw new InvalidDefinitionError(saga, "steps", "must contain at least one step");
    const plan: SagaPlan = Object.freeze({
      name: saga,
      version: this.#options.version,
      steps: Object.freeze(this.#steps.map((step) => step.plan)),
      maxRecoveries: this.#options.maxRecoveries ?? DEFAULT_MAX_RECOVERIES,
      ...(this.#options.deadlineMs === undefined ? {} : { deadlineMs: this.#options.deadlineMs }),
    });
    return Object.freeze({
      name: saga,
      version: this.#options.version,
      plan,
      steps: this.#steps,
      ...(this.#options.parseInput ? { parseInput: this.#options.parseInput } : {}),
    });
  }
}

/**
 * The steps of a parallel group as `SagaBuilder.parallel` declares them: each `step` is typed as
 * on the saga builder (it sees the saga's input and the outputs of the steps before the group).
 */
export class ParallelGroup<Input, Outputs extends Record<string, unknown>, GroupOutputs extends Record<string, unknown>> {
  /** @internal the declared steps, their types erased (the builder checks each as it adds it) */
  readonly steps: ReadonlyArray<{ name: string; options: unknown }>;
  /** Phantom field for type inference; never set at run time. */
  declare readonly __types?: { input: Input; outputs: Outputs; group: GroupOutputs };

  /** @internal use SagaBuilder.parallel() */
  constructor(steps: ReadonlyArray<{ name: string; options: unknown }>) {
    this.steps = steps;
  }

  step<Name extends string, Output>(
    name: Name extends keyof GroupOutputs ? never : Name,
    options: StepOptions<Input, Outputs, Output>,
  ): ParallelGroup<Input, Outputs, GroupOutputs & { readonly [K in Name]: Output }> {
    return new ParallelGroup([...this.steps, { name, options }]);
  }
}

const MAX_VERSION = 2_147_483_647;

/** Starts a saga definition. `Input` is the type of the input every instance receives. */
export function defineSaga<Input>(options: SagaOptions<Input>): SagaBuilder<Input, Record<never, never>> {
  if (typeof options !== "object" || options === null) {
    throw new InvalidDefinitionError("?", "options", `must be an object, got ${describe(options)}`);
  }
  const name = requireName(String(options.name), "name", options.name);
  const known = new Set(["name", "version", "maxRecoveries", "deadlineMs", "parseInput"]);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new InvalidDefinitionError(name, key, `is not a saga option (known: ${[...known].join(", ")})`);
  }
  requireInteger(name, "version", options.version, 1);
  // Stores keep versions as 32-bit integers (PostgreSQL INTEGER).
  if (options.version > MAX_VERSION) throw new InvalidDefinitionError(name, "version", `must be at most ${MAX_VERSION}, got ${options.version}`);
  if (options.maxRecoveries !== undefined) requireInteger(name, "maxRecoveries", options.maxRecoveries, 0);
  if (options.deadlineMs !== undefined) requireInteger(name, "deadlineMs", options.deadlineMs, 1);
  if (options.parseInput !== undefined) requireFunction(name, "parseInput", options.parseInput);
  return new SagaBuilder<Input, Record<never, never>>({ ...options }, []);
}

/** The action of a waiting step, which the engine never starts; reaching it is a bug. */
function sleepingAction(step: string): () => never {
  return () => {
    throw new Error(`engine invariant: step ${step} sleeps for a fixed duration and has no action to run`);
  };
}

/** A wake-up time from a sleep step's `until`: a valid Date or finite epoch milliseconds. */
function epochMs(value: unknown, what: string): number {
  // Told apart by its tag rather than by the Date global, which this pure layer does not touch.
  const ms = Object.prototype.toString.call(value) === "[object Date]" ? (value as { getTime(): number }).getTime() : value;
  if (typeof ms !== "number" || !Number.isFinite(ms)) throw new TypeError(`${what} must return a Date or epoch milliseconds, got ${describe(value)}`);
  return Math.round(ms);
}

function waitingAction(step: string): () => never {
  return () => {
    throw new Error(`engine invariant: step ${step} waits for an outside answer and has no action to run`);
  };
}
