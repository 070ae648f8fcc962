// The sagas the benchmark runs. Every step body is a trivial in-process function, so what is
// measured is the orchestrator and its store, not the participants. bench/peers/dbos.ts runs the
// same bodies (`stepBodies`) on DBOS Transact.
import { defineSaga, TerminalError, type SagaDefinition } from "../src/index.js";

/** The two paths through a saga: every step succeeds, or the third fails and steps 2 and 1 are compensated. */
export const Scenario = { success: "success", compensate: "compensate" } as const;
export type Scenario = (typeof Scenario)[keyof typeof Scenario];
export const SCENARIOS: readonly Scenario[] = [Scenario.success, Scenario.compensate];

/** The terminal status each scenario must end in; anything else is a harness failure. */
export const EXPECTED_STATUS: Record<Scenario, "completed" | "compensated"> = { success: "completed", compensate: "compensated" };

export interface BenchInput {
  n: number;
}

/** The step bodies, shared with the DBOS peer so both run exactly the same code. */
export const stepBodies = {
  reserve: (n: number): { reserved: number } => ({ reserved: n }),
  charge: (n: number): { charged: number } => ({ charged: n * 2 }),
  ship: (n: number): { shipped: number } => ({ shipped: n * 3 }),
  failShip: (n: number): never => {
    throw new TerminalError(`bench: shipping ${n} fails on purpose`);
  },
  release: (): null => null,
  refund: (): null => null,
} as const;

/** Retries off: a trivial step never fails transiently, and the failing step fails for good. */
const ONCE = { maxAttempts: 1 } as const;

function threeSteps(name: string, failThird: boolean): SagaDefinition<BenchInput> {
  return defineSaga<BenchInput>({ name, version: 1 })
    .step("reserve", { action: ({ input }) => stepBodies.reserve(input.n), compensate: () => stepBodies.release(), retry: ONCE })
    .step("charge", { action: ({ input }) => stepBodies.charge(input.n), compensate: () => stepBodies.refund(), retry: ONCE })
    .step("ship", { action: ({ input }) => (failThird ? stepBodies.failShip(input.n) : stepBodies.ship(input.n)), retry: ONCE })
    .build();
}

/** The saga each scenario starts. */
export const benchSagas: Record<Scenario, SagaDefinition<BenchInput>> = {
  success: threeSteps("bench-success", false),
  compensate: threeSteps("bench-compensate", true),
};

/** Holds every caller of `wait()` until `release()`; the memory measurement parks its sagas on one. */
export class Gate {
  #open = false;
  #waiters: Array<() => void> = [];
  /** How many callers are waiting right now. */
  get waiting(): number {
    return this.#waiters.length;
  }
  wait(): Promise<void> {
    if (this.#open) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  release(): void {
    this.#open = true;
    for (const resolve of this.#waiters.splice(0)) resolve();
  }
}

/**
 * A saga whose second step waits on `gate` (or, without one, returns at once). The memory and
 * recovery measurements use it with one name in both of their processes, so a fresh worker can
 * finish what a killed one left.
 */
export function blockingSaga(gate: Gate | undefined): SagaDefinition<BenchInput> {
  return defineSaga<BenchInput>({ name: "bench-blocking", version: 1 })
    .step("reserve", { action: ({ input }) => stepBodies.reserve(input.n), compensate: () => stepBodies.release(), retry: ONCE })
    .step("wait", {
      action: async ({ input }) => {
        if (gate !== undefined) await gate.wait();
        return stepBodies.charge(input.n);
      },
      compensate: () => stepBodies.refund(),
      retry: ONCE,
    })
    .step("ship", { action: ({ input }) => stepBodies.ship(input.n), retry: ONCE })
    .build();
}
