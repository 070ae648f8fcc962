import cliProgress from "cli-progress";
import { isTerminal, type Logger, type SagaStatus } from "../../index.js";
import { generateOrders } from "../../examples/order/index.js";
import { openOrderRuntime } from "../order-runtime.js";
import type { DatabaseLocation } from "../store.js";
import { forEachBounded, STARTS_IN_FLIGHT } from "./bounded.js";

/** The flags of `sagaflow demo --orders N`, parsed. */
export interface ManyOrdersOptions {
  location: DatabaseLocation;
  orders: number;
  failureRate: number;
  stepDelayMs: number;
  concurrency: number;
  seed: number;
  leaseMs: number;
  quiet: boolean;
  logger: Logger;
}

/** How a many-orders run went. */
export interface ManyOrdersSummary {
  total: number;
  /** Sagas that already existed from an earlier run with the same seed (and were resumed or were done). */
  resumed: number;
  byStatus: Record<"completed" | "compensated" | "failed", number>;
  elapsedMs: number;
}

const SWEEP_MS = 500;

/**
 * Starts `orders` random orders (their order id is the saga's idempotency key, so a second run
 * of the same command resumes the first one's sagas instead of duplicating them) and waits
 * until every one of them has ended.
 */
export async function runManyOrders(options: ManyOrdersOptions): Promise<ManyOrdersSummary> {
  const startedAt = Date.now();
  const { orchestrator, saga, store, close } = await openOrderRuntime(options.location, {
    mustExist: false,
    participants: { stepDelayMs: options.stepDelayMs },
    orchestrator: { concurrency: options.concurrency, leaseMs: options.leaseMs, logger: options.logger },
  });
  const bar = options.quiet
    ? undefined
    : new cliProgress.SingleBar(
        { format: "sagas {bar} {value}/{total} ended | {eta_formatted} left", noTTYOutput: true, notTTYSchedule: 2_000, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      );
  const ended = new Map<string, SagaStatus>();
  const pending = new Set<string>();
  let launching = true;
  let allEnded: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allEnded = resolve));
  const settle = (sagaId: string, status: SagaStatus): void => {
    ended.set(sagaId, status);
    if (!pending.delete(sagaId)) return;
    bar?.increment();
    if (pending.size === 0 && !launching) allEnded();
  };
  // Notices may arrive for a saga before its `start` returns here (another run's saga, resumed).
  const unsubscribe = orchestrator.onTransition((notice) => {
    if (isTerminal(notice.state.status)) settle(notice.sagaId, notice.state.status);
  });
  let resumed = 0;
  const ids: string[] = [];
  bar?.start(options.orders, 0);
  // Sagas can also be finished by another process (a `sagaflow worker`); this process never sees those notices.
  const sweep = setInterval(() => {
    sweepPending().catch((error: unknown) => options.logger.warn({ err: error }, "checking on pending sagas failed; trying again"));
  }, SWEEP_MS);
  async function sweepPending(): Promise<void> {
    for (const id of [...pending]) {
      const record = await store.getInstance(id);
      if (record !== null && isTerminal(record.state.status)) settle(id, record.state.status);
    }
  }
  try {
    const orders = generateOrders({ count: options.orders, failureRate: options.failureRate, seed: options.seed });
    await forEachBounded(orders, STARTS_IN_FLIGHT, async ({ order }) => {
      const started = await orchestrator.start(saga, order, { idempotencyKey: order.orderId });
      ids.push(started.id);
      if (!started.created) resumed++;
      const known = ended.get(started.id);
      if (known !== undefined || isTerminal(started.state.status)) {
        ended.set(started.id, known ?? started.state.status);
        bar?.increment();
      } else {
        pending.add(started.id);
      }
    });
    launching = false;
    if (pending.size > 0) await done;
  } finally {
    clearInterval(sweep);
    unsubscribe();
    bar?.stop();
    await close();
  }
  const byStatus = { completed: 0, compensated: 0, failed: 0 };
  for (const id of ids) {
    const status = ended.get(id);
    if (status === "completed" || status === "compensated" || status === "failed") byStatus[status]++;
  }
  return { total: ids.length, resumed, byStatus, elapsedMs: Date.now() - startedAt };
}
