import type { Logger } from "../../index.js";
import { generateOrders } from "../../examples/order/index.js";
import { openOrderRuntime } from "../order-runtime.js";
import type { DatabaseLocation } from "../store.js";
import { forEachBounded, STARTS_IN_FLIGHT } from "./bounded.js";

/** The flags of `sagaflow demo --orders N --enqueue-only`, parsed. */
export interface EnqueueOrdersOptions {
  location: DatabaseLocation;
  orders: number;
  failureRate: number;
  seed: number;
  logger: Logger;
}

/** How many sagas an enqueue created, and how many were there from an earlier run. */
export interface EnqueueSummary {
  created: number;
  existing: number;
  elapsedMs: number;
}

/**
 * Starts `orders` random orders without running any of them (an orchestrator without a worker):
 * they wait, durable, for `sagaflow worker` processes. Each order id is its saga's idempotency
 * key, so enqueueing the same orders again creates nothing new. The participants' tables are
 * created too, so the ledger can be read (empty) before any worker ran.
 */
export async function enqueueOrders(options: EnqueueOrdersOptions): Promise<EnqueueSummary> {
  const startedAt = Date.now();
  const { orchestrator, saga, close } = await openOrderRuntime(options.location, {
    mustExist: false,
    orchestrator: { worker: false, logger: options.logger },
  });
  let created = 0;
  let existing = 0;
  try {
    const orders = generateOrders({ count: options.orders, failureRate: options.failureRate, seed: options.seed });
    await forEachBounded(orders, STARTS_IN_FLIGHT, async ({ order }) => {
      const started = await orchestrator.start(saga, order, { idempotencyKey: order.orderId });
      if (started.created) created++;
      else existing++;
    });
  } finally {
    await close();
  }
  return { created, existing, elapsedMs: Date.now() - startedAt };
}
