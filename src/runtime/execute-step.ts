import type { RunPhaseCommand } from "../domain/commands.js";
import type { PhaseFailedEvent, PhaseSucceededEvent } from "../domain/events.js";
import type { SagaState } from "../domain/state.js";
import type { SagaDefinition } from "../dsl/define-saga.js";
import { StepTimeoutError } from "../errors.js";
import type { AbortSource } from "./lazy-abort.js";
import { classifyFailure, toJsonValue } from "./normalize-error.js";

/** The outputs of the steps before `stepIndex` that succeeded, by step name. */
export function outputsBefore(state: SagaState, stepIndex: number): Record<string, unknown> {
  const outputs: Record<string, unknown> = {};
  for (let index = 0; index < stepIndex && index < state.steps.length; index++) {
    const step = state.steps[index];
    if (step?.action.status === "succeeded") outputs[step.name] = step.output ?? null;
  }
  return outputs;
}

/**
 * Runs one attempt of an action or compensation and reports its outcome as an engine event.
 * Never throws: every failure, including a timeout, becomes a `*_failed` event.
 *
 * The step's `signal` aborts on shutdown or lease loss (`shutdown`) and, when the step has a
 * timeout, when the attempt times out. Without a timeout the step gets `shutdown.signal` itself,
 * made only if the step reads it: no controller, listener or timer per attempt on that path.
 */
export async function executeStep(
  definition: SagaDefinition<unknown, Record<string, unknown>>,
  state: SagaState,
  command: RunPhaseCommand,
  shutdown: AbortSource,
  random: () => number,
): Promise<PhaseSucceededEvent | PhaseFailedEvent> {
  const runtime = definition.steps[command.stepIndex];
  const controller = command.timeoutMs > 0 ? new AbortController() : undefined;
  const shutdownSignal = controller === undefined ? undefined : shutdown.signal;
  const onShutdown = controller === undefined ? undefined : (): void => controller.abort(shutdownSignal?.reason);
  if (onShutdown !== undefined) shutdownSignal?.addEventListener("abort", onShutdown, { once: true });
  let timer: NodeJS.Timeout | undefined;
  try {
    if (runtime === undefined) throw new RangeError(`definition ${definition.name}@${definition.version} has no step ${command.stepIndex}`);
    const base = {
      sagaId: state.id,
      step: command.step,
      attempt: command.attempt,
      idempotencyKey: command.idempotencyKey,
      input: state.input,
      outputs: outputsBefore(state, command.stepIndex),
      get signal(): AbortSignal {
        return controller?.signal ?? shutdown.signal;
      },
    };
    // A step that throws synchronously lands in the catch below, like one that rejects.
    const run = (): unknown => {
      if (command.phase === "action") return runtime.action(base);
      if (runtime.compensate === undefined) throw new RangeError(`step ${command.step} has no compensation`);
      return runtime.compensate({ ...base, output: state.steps[command.stepIndex]?.output ?? null });
    };
    let result: unknown;
    if (controller === undefined) {
      result = await run();
    } else {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const error = new StepTimeoutError(command.step, command.attempt, command.timeoutMs);
          controller.abort(error);
          reject(error);
        }, command.timeoutMs);
      });
      result = await Promise.race([run(), timeout]);
    }
    if (command.phase === "action") {
      const output = toJsonValue(result, `output of step ${command.step}`);
      return { type: "action_succeeded", step: command.step, attempt: command.attempt, output };
    }
    return { type: "compensation_succeeded", step: command.step, attempt: command.attempt };
  } catch (thrown) {
    const failure = classifyFailure(thrown);
    return {
      type: command.phase === "action" ? "action_failed" : "compensation_failed",
      step: command.step,
      attempt: command.attempt,
      jitter: random(),
      ...failure,
    };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (onShutdown !== undefined) shutdownSignal?.removeEventListener("abort", onShutdown);
  }
}
