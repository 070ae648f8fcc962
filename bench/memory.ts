// Peak RSS for 10,000 in-flight sagas: each one parked in its second step on a gate that opens
// only once all of them are in flight. Measured in a fresh child process per store, so the
// baseline is a clean, warmed-up process rather than whatever the rest of the run left behind.
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { isTerminal } from "../src/index.js";
import { childArgument, isEntryPoint, runAsChild, startChild } from "./child.js";
import { measure, sagaflowLauncher } from "./measure.js";
import { memoryTarget, postgresTarget, sqliteTarget, type StoreName } from "./targets.js";
import { benchSagas, blockingSaga, Gate } from "./workload.js";

export interface MemoryFigure {
  store: StoreName;
  durability: string;
  inFlight: number;
  baselineRssMiB: number;
  peakRssMiB: number;
  /** Peak minus baseline: what holding `inFlight` sagas costs. */
  rssGrowthMiB: number;
  rssGrowthPer1000MiB: number;
  /** Live JS heap after a full GC with every saga in flight, minus the baseline's. */
  heapGrowthMiB: number;
  /** From the first start() to the last saga parked on the gate. */
  fillMs: number;
  /** From opening the gate to the last saga completed. */
  drainMs: number;
}

interface MemoryArgs {
  store: Exclude<StoreName, "dbos">;
  url: string;
  count: number;
}

const MiB = 1024 * 1024;

function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("bench/memory.ts must run with --expose-gc");
  gc();
  gc();
}

async function childMain({ store, url, count }: MemoryArgs): Promise<MemoryFigure> {
  const gate = new Gate();
  const blocking = blockingSaga(gate);
  const target = store === "memory" ? memoryTarget : store === "sqlite" ? sqliteTarget("FULL") : postgresTarget(url, "on");
  const open = await target.open(count, [benchSagas.success, blocking]);
  const { orchestrator } = open;
  try {
    // Warm up every code path (JIT, pools, statement caches) before the baseline.
    const warm = sagaflowLauncher(orchestrator, benchSagas.success, "completed");
    await measure({ launcher: warm, concurrency: 64, window: { warmupMs: 0, warmupSagas: 1000, minMs: 0, minSagas: 0, repeats: 0 } });
    warm.dispose();
    collectGarbage();
    await sleep(100);
    collectGarbage();
    const baseline = process.memoryUsage();
    let peakRss = baseline.rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 5);
    let completed = 0;
    let wrong = 0;
    const unsubscribe = orchestrator.onTransition((notice) => {
      if (!notice.sagaId.startsWith("held-") || !isTerminal(notice.state.status)) return;
      if (notice.state.status === "completed") completed++;
      else wrong++;
    });
    const started = performance.now();
    for (let first = 0; first < count; first += 1000) {
      const ids = Array.from({ length: Math.min(1000, count - first) }, (_, i) => first + i);
      await Promise.all(ids.map((n) => orchestrator.start(blocking, { n }, { id: `held-${n}` })));
    }
    while (gate.waiting < count) await sleep(5);
    const fillMs = performance.now() - started;
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    collectGarbage();
    const heldHeap = process.memoryUsage().heapUsed;
    clearInterval(sampler);
    const opened = performance.now();
    gate.release();
    while (completed + wrong < count) await sleep(5);
    unsubscribe();
    if (wrong > 0) throw new Error(`${wrong} of ${count} held sagas did not complete`);
    const growth = (peakRss - baseline.rss) / MiB;
    return {
      store,
      durability: target.durability,
      inFlight: count,
      baselineRssMiB: baseline.rss / MiB,
      peakRssMiB: peakRss / MiB,
      rssGrowthMiB: growth,
      rssGrowthPer1000MiB: (growth * 1000) / count,
      heapGrowthMiB: (heldHeap - baseline.heapUsed) / MiB,
      fillMs,
      drainMs: performance.now() - opened,
    };
  } finally {
    await open.close();
    await open.dispose();
  }
}

/** One child per store; a store whose child fails gets its error instead of figures. */
export async function measureMemory(
  stores: ReadonlyArray<Exclude<StoreName, "dbos">>,
  url: string,
  count: number,
  onDone: () => void,
): Promise<Array<MemoryFigure | { store: StoreName; error: string }>> {
  const figures: Array<MemoryFigure | { store: StoreName; error: string }> = [];
  for (const store of stores) {
    try {
      const args: MemoryArgs = { store, url, count };
      figures.push((await startChild("bench/memory.ts", args, undefined, ["--expose-gc"]).result) as MemoryFigure);
    } catch (error) {
      figures.push({ store, error: error instanceof Error ? error.message : String(error) });
    }
    onDone();
  }
  return figures;
}

if (isEntryPoint(import.meta.url)) runAsChild(() => childMain(childArgument<MemoryArgs>()));
