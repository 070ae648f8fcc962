// Recovery: a worker process starts 10,000 sagas on PostgreSQL and parks each in its (slow) second
// step; once all are in flight it is SIGKILLed. A fresh worker process is then timed from its own
// start until all 10,000 have completed. The lease is short so that the figure is about the
// engine rather than about waiting for leases to run out; the lease used is reported beside it.
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { isTerminal, Orchestrator } from "../src/index.js";
import { openPostgresStore } from "../src/store/postgres/index.js";
import { childArgument, isEntryPoint, runAsChild, startChild } from "./child.js";
import { dropSchema, scratchName } from "./pg.js";
import { blockingSaga, Gate } from "./workload.js";

export interface RecoveryFigure {
  store: "postgres";
  sagas: number;
  leaseMs: number;
  /** Worker slots of the fresh worker. */
  workerConcurrency: number;
  /** How long the killed worker took to get every saga in flight. */
  fillMs: number;
  /** The fresh worker's process start (node and tsx boot included) to the last saga completed. */
  startToDoneMs: number;
  /** The same, from `Orchestrator.create` on. */
  createToDoneMs: number;
  /** SIGKILL to the last saga completed, as the parent saw it. */
  killToDoneMs: number;
  /** The fresh worker's process start to its first completed saga (includes waiting out the killed worker's leases). */
  startToFirstMs: number;
  counts: Record<string, number>;
}

interface ChildArgs {
  role: "victim" | "worker";
  url: string;
  schema: string;
  count: number;
  leaseMs: number;
  concurrency: number;
  /** The fresh worker gives up at this time (epoch ms). */
  deadlineEpochMs: number;
}

/** How a recovery that ran out of time is reported (the quick run bounds it by its budget). */
export class RecoveryTimeout extends Error {}

/** The killed worker: holds `count` sagas in their second step until SIGKILL arrives. */
async function victim(args: ChildArgs): Promise<never> {
  const gate = new Gate();
  const saga = blockingSaga(gate);
  const store = await openPostgresStore({ connectionString: args.url, schema: args.schema, applicationName: "sagaflow-bench-victim" });
  const orchestrator = await Orchestrator.create({ store, definitions: [saga], concurrency: args.count, leaseMs: args.leaseMs, workerId: "bench-victim" });
  const started = performance.now();
  for (let first = 0; first < args.count; first += 1000) {
    const ids = Array.from({ length: Math.min(1000, args.count - first) }, (_, i) => first + i);
    await Promise.all(ids.map((n) => orchestrator.start(saga, { n }, { id: `recover-${n}` })));
  }
  while (gate.waiting < args.count) await sleep(5);
  process.stdout.write(`${JSON.stringify({ type: "ready", fillMs: performance.now() - started })}\n`);
  return new Promise<never>(() => undefined);
}

/** The fresh worker: the same definition, with a second step that returns at once. */
async function worker(args: ChildArgs): Promise<Omit<RecoveryFigure, "killToDoneMs" | "fillMs">> {
  const saga = blockingSaga(undefined);
  const createdAt = performance.now();
  const store = await openPostgresStore({ connectionString: args.url, schema: args.schema, applicationName: "sagaflow-bench-recovery" });
  const orchestrator = await Orchestrator.create({ store, definitions: [saga], concurrency: args.concurrency, leaseMs: args.leaseMs, workerId: "bench-recovery" });
  let ended = 0;
  let firstAt = 0;
  const allEnded = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timeout: ${ended} of ${args.count} completed ${Math.round(performance.now())} ms after the worker's start`)),
      Math.max(1_000, args.deadlineEpochMs - Date.now()),
    );
    orchestrator.onTransition((notice) => {
      if (!isTerminal(notice.state.status)) return;
      if (ended === 0) firstAt = performance.now();
      if (++ended === args.count) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  await allEnded;
  // performance.now() counts from this process's start.
  const doneAt = performance.now();
  process.stdout.write(`${JSON.stringify({ type: "ready", doneMs: doneAt })}\n`);
  const counts = await store.countByStatus();
  await orchestrator.close();
  if (counts.completed !== args.count) throw new Error(`recovery ended with ${JSON.stringify(counts)}, expected ${args.count} completed`);
  return {
    store: "postgres",
    sagas: args.count,
    leaseMs: args.leaseMs,
    workerConcurrency: args.concurrency,
    startToDoneMs: doneAt,
    startToFirstMs: firstAt,
    createToDoneMs: doneAt - createdAt,
    counts,
  };
}

/** Runs the kill-and-recover sequence in a scratch schema, dropped afterwards. */
export async function measureRecovery(url: string, count: number, leaseMs: number, concurrency: number, deadlineEpochMs: number): Promise<RecoveryFigure> {
  const schema = scratchName("sagaflow_bench_recovery");
  await (await openPostgresStore({ connectionString: url, schema })).close();
  try {
    const base = { url, schema, count, leaseMs, concurrency, deadlineEpochMs };
    let killedAt = 0;
    let fillMs = 0;
    const victimRun = startChild("bench/recovery.ts", { ...base, role: "victim" } satisfies ChildArgs, (event) => {
      if (event.type !== "ready") return;
      fillMs = Number(event.fillMs);
      killedAt = performance.now();
      victimRun.child.kill("SIGKILL");
    });
    await victimRun.result.catch(() => undefined);
    if (killedAt === 0) await victimRun.result; // it died before it was ready: report why
    let doneAt = 0;
    const workerRun = startChild("bench/recovery.ts", { ...base, role: "worker" } satisfies ChildArgs, (event) => {
      if (event.type === "ready") doneAt = performance.now();
    });
    const recovered = (await workerRun.result.catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      throw message.startsWith("Error: timeout: ") ? new RecoveryTimeout(message.slice("Error: timeout: ".length).split("\n")[0]) : error;
    })) as Omit<RecoveryFigure, "killToDoneMs" | "fillMs">;
    return { ...recovered, fillMs, killToDoneMs: doneAt - killedAt };
  } finally {
    await dropSchema(url, schema);
  }
}

if (isEntryPoint(import.meta.url)) {
  const args = childArgument<ChildArgs>();
  runAsChild(() => (args.role === "victim" ? victim(args) : worker(args)));
}
