import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { HistoryEntry } from "../domain/history.js";
import type { SagaState } from "../domain/state.js";
import { SAGA_STATUSES } from "../domain/status.js";
import type { TransitionNotice } from "../runtime/saga-driver.js";
import type { SagaStore } from "../store/saga-store.js";

/** Seconds; from a millisecond trivial step to a minute-long participant call. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** How long a scrape may reuse the store's status counts: a COUNT over every instance is not free. */
const COUNTS_TTL_MS = 1_000;

export interface SagaMetricsOptions {
  /** Default: a new registry with Node's process metrics (CPU, memory, event loop lag). */
  registry?: Registry;
  /** Gives the `sagaflow_sagas` gauge (instances by status, whole store) its values at scrape time. */
  store?: SagaStore;
}

/**
 * Prometheus metrics of an orchestrator: fed by its transition notices (`observe`) and by a store
 * wrapped with `instrumentStore`; `registry.metrics()` is the text a scraper reads.
 */
export class SagaMetrics {
  readonly registry: Registry;
  readonly #started: Counter<"definition">;
  readonly #finished: Counter<"definition" | "status">;
  readonly #attempts: Counter<"definition" | "step" | "phase" | "outcome">;
  readonly #stepSeconds: Histogram<"definition" | "step" | "phase" | "outcome">;
  readonly #claimSeconds: Histogram;
  readonly #claimed: Counter;
  readonly #commitSeconds: Histogram;
  readonly #commitItems: Histogram;

  constructor(options: SagaMetricsOptions = {}) {
    const registry = options.registry ?? new Registry();
    if (options.registry === undefined) collectDefaultMetrics({ register: registry });
    this.registry = registry;
    const registers = [registry];
    this.#started = new Counter({ name: "sagaflow_sagas_started_total", help: "Sagas started by this process", labelNames: ["definition"], registers });
    this.#finished = new Counter({
      name: "sagaflow_sagas_finished_total",
      help: "Sagas this process saw end, by final status",
      labelNames: ["definition", "status"],
      registers,
    });
    this.#attempts = new Counter({
      name: "sagaflow_step_attempts_total",
      help: "Step attempts settled, by phase (action or compensation) and outcome (succeeded, failed, in_doubt)",
      labelNames: ["definition", "step", "phase", "outcome"],
      registers,
    });
    this.#stepSeconds = new Histogram({
      name: "sagaflow_step_duration_seconds",
      help: "Duration of settled step attempts (actions and compensations)",
      labelNames: ["definition", "step", "phase", "outcome"],
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#claimSeconds = new Histogram({ name: "sagaflow_claim_duration_seconds", help: "Latency of claiming due sagas from the store", buckets: DURATION_BUCKETS, registers });
    this.#claimed = new Counter({ name: "sagaflow_claimed_sagas_total", help: "Sagas claimed from the store (recovered or started elsewhere)", registers });
    this.#commitSeconds = new Histogram({
      name: "sagaflow_store_commit_duration_seconds",
      help: "Latency of group commits: one durable write of many creates and transitions",
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.#commitItems = new Histogram({
      name: "sagaflow_store_commit_items",
      help: "Creates and transitions per group commit",
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024],
      registers,
    });
    const store = options.store;
    if (store !== undefined) {
      let cached: { atMs: number; counts: Promise<Record<string, number>> } | undefined;
      new Gauge({
        name: "sagaflow_sagas",
        help: "Saga instances in the store by status (running and compensating are in flight), across every worker",
        labelNames: ["status"],
        registers,
        async collect() {
          const now = Date.now();
          if (cached === undefined || now - cached.atMs > COUNTS_TTL_MS) cached = { atMs: now, counts: store.countByStatus() };
          const counts = await cached.counts;
          for (const status of SAGA_STATUSES) this.set({ status }, counts[status] ?? 0);
        },
      });
    }
  }

  /** Feeds one transition notice (`orchestrator.onTransition(metrics.observe)`). */
  readonly observe = (notice: TransitionNotice): void => {
    const definition = notice.state.definitionName;
    for (const entry of notice.history) {
      switch (entry.type) {
        case "saga_started":
          this.#started.inc({ definition });
          break;
        case "saga_ended":
          this.#finished.inc({ definition, status: entry.status });
          break;
        case "attempt_succeeded":
        case "attempt_failed":
        case "attempt_in_doubt":
          this.#settled(notice.state, entry, definition);
          break;
        default:
          break;
      }
    }
  };

  /** `store`, with its claims and group commits timed. Every other member is the store's own. */
  instrumentStore(store: SagaStore): SagaStore {
    const timed = async <T>(histogram: Histogram, work: () => Promise<T>): Promise<T> => {
      const end = histogram.startTimer();
      try {
        return await work();
      } finally {
        end();
      }
    };
    return new Proxy(store, {
      get: (target, property) => {
        if (property === "writeBatch") {
          return (batch: Parameters<SagaStore["writeBatch"]>[0]) => {
            this.#commitItems.observe(batch.creates.length + batch.commits.length);
            return timed(this.#commitSeconds, () => target.writeBatch(batch));
          };
        }
        if (property === "claimDue") {
          return async (request: Parameters<SagaStore["claimDue"]>[0]) => {
            const claimed = await timed(this.#claimSeconds, () => target.claimDue(request));
            this.#claimed.inc(claimed.length);
            return claimed;
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  #settled(state: SagaState, entry: Extract<HistoryEntry, { type: "attempt_succeeded" | "attempt_failed" | "attempt_in_doubt" }>, definition: string): void {
    const outcome = entry.type === "attempt_succeeded" ? "succeeded" : entry.type === "attempt_failed" ? "failed" : "in_doubt";
    const labels = { definition, step: entry.step, phase: entry.phase, outcome };
    this.#attempts.inc(labels);
    // An in-doubt attempt's start is known but not its end: it has no duration.
    if (outcome === "in_doubt") return;
    const phase = state.steps.find((step) => step.name === entry.step)?.[entry.phase];
    const startedAtMs = phase?.startedAtMs;
    if (startedAtMs !== undefined && entry.atMs >= startedAtMs) this.#stepSeconds.observe(labels, (entry.atMs - startedAtMs) / 1000);
  }
}
