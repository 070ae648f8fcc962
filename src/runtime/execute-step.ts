import { fileURLToPath } from "node:url";
import type { RunPhaseCommand } from "../domain/commands.js";
import type { ErrorInfo } from "../domain/error-info.js";
import type { PhaseFailedEvent, PhaseSucceededEvent } from "../domain/events.js";
import type { SagaPlan } from "../domain/plan.js";
import type { SagaState } from "../domain/state.js";
import type { SagaDefinition } from "../dsl/define-saga.js";
import { StepTimeoutError } from "../errors.js";
import type { AbortSource } from "./lazy-abort.js";
import { classifyFailure, toJsonValue } from "./normalize-error.js";

/**
 * The outputs of the steps before `stepIndex` that succeeded, by step name; a step of a parallel
 * group does not see its siblings', which may or may not have finished when it runs.
 */
export function outputsBefore(state: SagaState, stepIndex: number, plan?: SagaPlan): Record<string, unknown> {
  const outputs: Record<string, unknown> = {};
  const group = plan?.steps[stepIndex]?.group?.name;
  for (let index = 0; index < stepIndex && index < state.steps.length; index++) {
    if (group !== undefined && plan?.steps[index]?.group?.name === group) continue;
    const step = state.steps[index];
    if (step?.action.status === "succeeded") outputs[step.name] = step.output ?? null;
  }
  return outputs;
}

/**
 * What a step sees: the same own, enumerable properties in the same order as a plain object
 * (`signal` last, an accessor), with every instance sharing one hidden class.
 */
class StepContextObject {
  readonly sagaId: string;
  readonly step: string;
  readonly attempt: number;
  readonly idempotencyKey: string;
  readonly input: unknown;
  readonly outputs: Record<string, unknown>;
  declare readonly signal: AbortSignal;
  readonly #controller: AbortController | undefined;
  readonly #shutdown: AbortSource;

  constructor(state: SagaState, command: RunPhaseCommand, outputs: Record<string, unknown>, controller: AbortController | undefined, shutdown: AbortSource) {
    this.sagaId = state.id;
    this.step = command.step;
    this.attempt = command.attempt;
    this.idempotencyKey = command.idempotencyKey;
    this.input = state.input;
    this.outputs = outputs;
    this.#controller = controller;
    this.#shutdown = shutdown;
    Object.defineProperty(this, "signal", StepContextObject.#signal);
  }

  /**
   * `signal`, read through one getter shared by every context: an object literal with a getter
   * would make a closure, an accessor pair and a hidden class of its own per attempt.
   */
  static readonly #signal: PropertyDescriptor = {
    get(this: StepContextObject): AbortSignal {
      return this.#controller?.signal ?? this.#shutdown.signal;
    },
    enumerable: true,
    configurable: true,
  };
}

/**
 * What a compensation sees: the step's context and the action's output, after `signal` as a
 * spread `{ ...context, output }` would have it, but with `signal` still made only when read
 * (a spread reads it, making an AbortSignal for every compensation).
 */
class CompensationContextObject extends StepContextObject {
  readonly output: unknown;

  constructor(state: SagaState, command: RunPhaseCommand, outputs: Record<string, unknown>, controller: AbortController | undefined, shutdown: AbortSource) {
    super(state, command, outputs, controller, shutdown);
    this.output = state.steps[command.stepIndex]?.output ?? null;
  }
}

/** The context for one attempt of `command`: a compensation's also carries its action's output. */
function contextFor(
  definition: SagaDefinition<unknown, Record<string, unknown>>,
  state: SagaState,
  command: RunPhaseCommand,
  controller: AbortController | undefined,
  shutdown: AbortSource,
): StepContextObject {
  const outputs = outputsBefore(state, command.stepIndex, definition.plan);
  return command.phase === "action"
    ? new StepContextObject(state, command, outputs, controller, shutdown)
    : new CompensationContextObject(state, command, outputs, controller, shutdown);
}

/**
 * Runs one attempt of an action or compensation and reports its outcome as an engine event.
 * Never throws: every failure, including a timeout, becomes a `*_failed` event.
 *
 * The step's `signal` aborts on shutdown or lease loss (`shutdown`) and, when the step has a
 * timeout, when the attempt times out. Without a timeout the step gets `shutdown.signal` itself,
 * made only if the step reads it: no controller, listener or timer per attempt on that path,
 * and no suspended async frame either: one reaction on the step's result is all it holds.
 */
export function executeStep(
  definition: SagaDefinition<unknown, Record<string, unknown>>,
  state: SagaState,
  command: RunPhaseCommand,
  shutdown: AbortSource,
  random: () => number,
): Promise<PhaseSucceededEvent | PhaseFailedEvent> {
  if (command.timeoutMs > 0) return executeWithTimeout(definition, state, command, shutdown, random);
  let result: unknown;
  try {
    // A step that throws synchronously fails like one that rejects.
    result = runPhase(definition, command, contextFor(definition, state, command, undefined, shutdown));
  } catch (thrown) {
    return new Promise((resolve) => resolve(failedEvent(command, thrown, random)));
  }
  // Like `await`: a thenable is followed, anything else is the output.
  return Promise.resolve(result).then(
    (value) => settledEvent(command, value, random),
    (thrown: unknown) => failedEvent(command, thrown, random),
  );
}

/** The path of a step with a timeout: its own controller, linked to `shutdown`, and a timer. */
async function executeWithTimeout(
  definition: SagaDefinition<unknown, Record<string, unknown>>,
  state: SagaState,
  command: RunPhaseCommand,
  shutdown: AbortSource,
  random: () => number,
): Promise<PhaseSucceededEvent | PhaseFailedEvent> {
  const controller = new AbortController();
  const shutdownSignal = shutdown.signal;
  const onShutdown = (): void => controller.abort(shutdownSignal.reason);
  shutdownSignal.addEventListener("abort", onShutdown, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    const context = contextFor(definition, state, command, controller, shutdown);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new StepTimeoutError(command.step, command.attempt, command.timeoutMs);
        controller.abort(error);
        reject(error);
      }, command.timeoutMs);
    });
    // A step that throws synchronously lands in the catch below, like one that rejects.
    const result = await Promise.race([runPhase(definition, command, context), timeout]);
    return settledEvent(command, result, random);
  } catch (thrown) {
    return failedEvent(command, thrown, random);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    shutdownSignal.removeEventListener("abort", onShutdown);
  }
}

/**
 * Starts one attempt of a step without a timeout and returns what the step returned (a promise,
 * usually); throws what it threw. The driver awaits it and makes the event with `settledEvent` or
 * `failedEvent`: `executeStep` without a promise of its own, for the usual single step.
 */
export function startStep(definition: SagaDefinition<unknown, Record<string, unknown>>, state: SagaState, command: RunPhaseCommand, shutdown: AbortSource): unknown {
  if (command.timeoutMs > 0) throw new RangeError(`step ${command.step} has a timeout: run it with executeStep`);
  return runPhase(definition, command, contextFor(definition, state, command, undefined, shutdown));
}

/** Calls the action or the compensation; whatever it returns or throws is the caller's. */
function runPhase(definition: SagaDefinition<unknown, Record<string, unknown>>, command: RunPhaseCommand, context: StepContextObject): unknown {
  const runtime = definition.steps[command.stepIndex];
  if (runtime === undefined) throw new RangeError(`definition ${definition.name}@${definition.version} has no step ${command.stepIndex}`);
  if (command.phase === "action") return runtime.action(context);
  if (runtime.compensate === undefined) throw new RangeError(`step ${command.step} has no compensation`);
  return runtime.compensate(context as CompensationContextObject);
}

/** What `toJsonValue` names when it refuses an output (made once, not per call). */
const outputOfStep = (step: string): string => `output of step ${step}`;

/** The success event for a phase that returned `result`; an output that is not JSON makes it a failure. */
export function settledEvent(command: RunPhaseCommand, result: unknown, random: () => number): PhaseSucceededEvent | PhaseFailedEvent {
  try {
    if (command.phase === "action") {
      const output = toJsonValue(result, outputOfStep, command.step);
      return { type: "action_succeeded", step: command.step, attempt: command.attempt, output };
    }
    return { type: "compensation_succeeded", step: command.step, attempt: command.attempt };
  } catch (thrown) {
    return failedEvent(command, thrown, random);
  }
}

export function failedEvent(command: RunPhaseCommand, thrown: unknown, random: () => number): PhaseFailedEvent {
  const failure = classifyFailure(thrown);
  withoutRuntimeFrames(failure.error);
  return {
    type: command.phase === "action" ? "action_failed" : "compensation_failed",
    step: command.step,
    attempt: command.attempt,
    jitter: random(),
    ...failure,
  };
}

/**
 * How this module appears in a stack frame: as a path (tsx, or source maps) or a URL (compiled
 * ESM). A frame of `runPhase` names it so, and nothing else of Sagaflow's calls a step.
 */
const THIS_MODULE = [fileURLToPath(import.meta.url), import.meta.url];
const RUN_PHASE_FRAME = "\n    at runPhase (";

/**
 * Cuts from a step's error stack (and its causes') the frames from `runPhase` down: they are the
 * runtime's own calls that led to the step, the same for every failure, and a stored error is
 * written into the history and into the state at every transition until the saga ends (a
 * compensated 3-step saga's stack was about 700 bytes, half of them these frames). The step's frames,
 * and anything it called, stay. A stack that does not show `runPhase` with this module's location
 * (an async step past its first `await`, a bundler that renamed it) is kept whole.
 */
function withoutRuntimeFrames(error: ErrorInfo): void {
  const { stack } = error;
  if (stack !== undefined) {
    const at = stack.indexOf(RUN_PHASE_FRAME);
    if (at >= 0) {
      const lineEnd = stack.indexOf("\n", at + 1);
      const frame = stack.slice(at, lineEnd < 0 ? undefined : lineEnd);
      if (THIS_MODULE.some((location) => frame.includes(location))) error.stack = stack.slice(0, at);
    }
  }
  // The chain is as long as `toErrorInfo` kept it (a few levels at most).
  if (error.cause !== undefined) withoutRuntimeFrames(error.cause);
}
