import type { Logger, SagaState } from "../../index.js";
import { SEED_ORDERS } from "../../examples/order/index.js";
import { openOrderRuntime } from "../order-runtime.js";
import type { DatabaseLocation } from "../store.js";
import { narrate } from "./narrate.js";

/** What `runSeedScenarios` needs; `write` prints one line of the narration. */
export interface SeedScenarioOptions {
  location: DatabaseLocation;
  leaseMs: number;
  quiet: boolean;
  logger: Logger;
  write: (line: string) => void;
}

/**
 * The seed's two scenarios, one after the other: order-123 goes through; fail-inventory stops
 * at ReserveInventory and its payment is compensated. Returns the final states.
 */
export async function runSeedScenarios(options: SeedScenarioOptions): Promise<SagaState[]> {
  const { write, quiet } = options;
  const flow = quiet ? undefined : write;
  const { orchestrator, saga, close } = await openOrderRuntime(options.location, {
    mustExist: false,
    participants: flow ? { log: flow } : {},
    orchestrator: { leaseMs: options.leaseMs, logger: options.logger },
  });
  // Every commit reaches onTransition before the attempt it records as started runs.
  if (flow) orchestrator.onTransition((notice) => narrate(notice).forEach(flow));
  const finals: SagaState[] = [];
  try {
    write("=== Orchestrator Saga Example ===");
    for (const [index, order] of SEED_ORDERS.entries()) {
      if (index > 0) write("");
      const started = await orchestrator.start(saga, order, { idempotencyKey: order.orderId });
      const final = await orchestrator.waitFor(started.id, 120_000);
      finals.push(final);
      const again = started.created ? "" : " (it had already run in this database)";
      write(`${conclusion(order.orderId, final)}${again}`);
    }
  } finally {
    await close();
  }
  return finals;
}

/** The seed's closing line for one scenario. */
function conclusion(orderId: string, state: SagaState): string {
  if (state.status === "completed") return `Saga successful for ${orderId}`;
  const at = state.stop?.step === undefined ? "" : ` at step ${state.stop.step}`;
  const reason = `saga failed${at}: ${state.stop?.error?.message ?? state.stop?.reason ?? "unknown"}`;
  if (state.status === "compensated") return `Saga ended with error (expected): ${reason}`;
  return `Saga ended with error and is ${state.status}: ${reason}; outstanding: ${(state.outstanding ?? []).map((o) => `${o.step} ${o.phase}`).join(", ")}`;
}
