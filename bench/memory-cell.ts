// The memory store's cells, each in a process of its own. In one process they measured what the
// cells before them left behind as much as themselves: a store that keeps every saga leaves
// hundreds of megabytes for the next full collection, and V8's allocation-site feedback carries
// over from cell to cell. On 2026-12-02 the in-memory row at C=512 measured 50–77k sagas/s with
// 39–53% of its time in garbage collection after the other cells in full runs, against 87–104k
// and 28–31% as the first thing a process ran (see docs/benchmarks.md).
import { childArgument, emit, isEntryPoint, runAsChild, startChild } from "./child.js";
import { runSagaflowCell, runStoreAloneCell } from "./cells.js";
import type { Window } from "./measure.js";
import type { ResultRow, StoreAloneRow } from "./report.js";
import { memoryTarget } from "./targets.js";
import type { Scenario } from "./workload.js";

type MemoryCellArgs = { kind: "row"; scenario: Scenario; concurrency: number; window: Window } | { kind: "alone"; concurrency: number; window: Window };

/** `runSagaflowCell` on the memory store, in a child process; `onRepeat` hears of each repeat as the child reports it. */
export async function runMemoryRowApart(scenario: Scenario, concurrency: number, window: Window, onRepeat: () => void): Promise<ResultRow> {
  return (await apart({ kind: "row", scenario, concurrency, window }, onRepeat)) as ResultRow;
}

/** `runStoreAloneCell` on the memory store, in a child process. */
export async function runMemoryAloneApart(concurrency: number, window: Window, onRepeat: () => void): Promise<StoreAloneRow> {
  return (await apart({ kind: "alone", concurrency, window }, onRepeat)) as StoreAloneRow;
}

function apart(args: MemoryCellArgs, onRepeat: () => void): Promise<unknown> {
  return startChild("bench/memory-cell.ts", args, (event) => {
    if (event.type === "progress") onRepeat();
  }).result;
}

function childMain(args: MemoryCellArgs): Promise<ResultRow | StoreAloneRow> {
  const progress = (): void => emit({ type: "progress" });
  return args.kind === "row"
    ? runSagaflowCell(memoryTarget, args.scenario, args.concurrency, args.window, null, progress)
    : runStoreAloneCell(memoryTarget, args.concurrency, args.window, progress);
}

if (isEntryPoint(import.meta.url)) runAsChild(() => childMain(childArgument<MemoryCellArgs>()));
