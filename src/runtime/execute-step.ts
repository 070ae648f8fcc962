import type { RunPhaseCommand } from "../domain/commands.js";
import type { PhaseFailedEvent, PhaseSucceededEvent } from "../domain/events.js";
import type { SagaState } from "../domain/state.js";
import type { SagaDefinition } from "../dsl/define-saga.js";
import { StepTimeoutError } from "../errors.js";
import { classifyFailure, toJsonValue } from "./normalize-error.js";

/** The outputs of the steps before `stepIndex` that succeeded, by step name. */
export function outputsBefore(state: SagaState, stepIndex: number): Record<string, unknown> {
  const outputs: Record<string, unknown> = {};
  state.steps.slice(0, stepIndex).forEach((step) => {
    if (step.action.status === "succeeded") outputs[step.name] = step.output ?? null;
  });
  return outputs;
}

/**
 * Runs one attempt of an action or compensation and reports its outcome as an engine event.
 * Never throws: every failure, including a timeout, becomes a `*_failed` event.
 */
export async function executeStep(
  definition: SagaDefinition<unknown, Record<string, unknown>>,
  state: SagaState,
  command: RunPhaseCommand,
  shutdownSignal: AbortSignal,
  random: () => number,
): Promise<PhaseSucceededEvent | PhaseFailedEvent> {
  const runtime = definition.steps[command.stepIndex];
  const controller = new AbortController();
  const onShutdown = (): void => controller.abort(shutdownSignal.reason);
  shutdownSignal.addEventListener("abort", onShutdown, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const base = {
    sagaId: state.id,
    step: command.step,
    attempt: command.attempt,
    idempotencyKey: command.idempotencyKey,
    input: state.input,
    outputs: outputsBefore(state, command.stepIndex),
    signal: controller.signal,
  };
  try {
    if (runtime === undefined) throw new RangeError(`definition ${definition.name}@${definition.version} has no step ${command.stepIndex}`);
    // Through a promise so that a step that throws synchronously fails like one that rejects.
    const run = (): Promise<unknown> =>
      Promise.resolve().then(() => {
        if (command.phase === "action") return runtime.action(base);
        if (runtime.compensate === undefined) throw new RangeError(`step ${command.step} has no compensation`);
        return runtime.compensate({ ...base, output: state.steps[command.stepIndex]?.output ?? null });
      });
    const timeout = new Promise<never>((_, reject) => {
      if (command.timeoutMs <= 0) return;
      timer = setTimeout(() => {
        const error = new StepTimeoutError(command.step, command.attempt, command.timeoutMs);
        controller.abort(error);
        reject(error);
      }, command.timeoutMs);
    });
    const result = await Promise.race([run(), timeout]);
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
    shutdownSignal.removeEventListener("abort", onShutdown);
  }
}
