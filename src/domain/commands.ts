import type { Phase } from "./status.js";

/** What the engine asks the shell to do. */
export interface RunPhaseCommand {
  type: "run";
  phase: Phase;
  step: string;
  stepIndex: number;
  attempt: number;
  /** Stable across attempts and workers (G3): `<sagaId>:<step>` or `<sagaId>:<step>:compensate`. */
  idempotencyKey: string;
  /** Per-attempt limit; 0 means none. */
  timeoutMs: number;
}

export type SagaCommand = RunPhaseCommand;

export function idempotencyKeyFor(sagaId: string, step: string, phase: Phase): string {
  return phase === "action" ? `${sagaId}:${step}` : `${sagaId}:${step}:compensate`;
}
