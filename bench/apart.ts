// The cells of the in-memory family, each in a process of its own: the engine alone, the runtime
// alone (over the null store, and over the memory store forgetting ended sagas), the memory
// store alone and the in-memory rows. In one process they measured what the cells before them
// left behind as much as themselves: a store that keeps every saga leaves hundreds of megabytes
// for the next full collection, and V8's allocation-site feedback carries over from cell to cell
// (the engine alone's loop of `decide` calls, millions a second, left the runtime alone after it
// at 72–91k sagas/s with 42–47% of its time in garbage collection, against 200–220k and 13–16%
// without it). On 2026-12-02 the in-memory row at C=512 measured 50–77k sagas/s with 39–53% in
// garbage collection after the other cells in full runs, against 87–104k and 28–31% as the first
// thing a process ran (see docs/benchmarks.md).
import { childArgument, emit, isEntryPoint, runAsChild, startChild } from "./child.js";
import { runSagaflowCell, runStoreAloneCell } from "./cells.js";
import { measureEngineAlone, type EngineAloneRow } from "./engine-alone.js";
import type { Window } from "./measure.js";
import { measureRuntimeAlone, type RuntimeAloneRow, type RuntimeAloneStore } from "./null-store.js";
import type { ResultRow, StoreAloneRow } from "./report.js";
import { memoryTarget } from "./targets.js";
import type { Scenario } from "./workload.js";

type ApartArgs =
  | { kind: "engine"; scenario: Scenario; window: Window }
  | { kind: "runtime"; over: RuntimeAloneStore; concurrency: number; window: Window }
  | { kind: "row"; scenario: Scenario; concurrency: number; window: Window }
  | { kind: "alone"; concurrency: number; window: Window };

/** `measureEngineAlone` in a child process. */
export async function measureEngineAloneApart(scenario: Scenario, window: Window): Promise<EngineAloneRow> {
  return (await apart({ kind: "engine", scenario, window }, () => undefined)) as EngineAloneRow;
}

/** `measureRuntimeAlone` in a child process; `onRepeat` hears of each repeat as the child reports it. */
export async function measureRuntimeAloneApart(concurrency: number, window: Window, onRepeat: () => void, over: RuntimeAloneStore = "null"): Promise<RuntimeAloneRow> {
  return (await apart({ kind: "runtime", over, concurrency, window }, onRepeat)) as RuntimeAloneRow;
}

/** `runSagaflowCell` on the memory store, in a child process. */
export async function runMemoryRowApart(scenario: Scenario, concurrency: number, window: Window, onRepeat: () => void): Promise<ResultRow> {
  return (await apart({ kind: "row", scenario, concurrency, window }, onRepeat)) as ResultRow;
}

/** `runStoreAloneCell` on the memory store, in a child process. */
export async function runMemoryAloneApart(concurrency: number, window: Window, onRepeat: () => void): Promise<StoreAloneRow> {
  return (await apart({ kind: "alone", concurrency, window }, onRepeat)) as StoreAloneRow;
}

function apart(args: ApartArgs, onRepeat: () => void): Promise<unknown> {
  return startChild("bench/apart.ts", args, (event) => {
    if (event.type === "progress") onRepeat();
  }).result;
}

function childMain(args: ApartArgs): Promise<unknown> {
  const progress = (): void => emit({ type: "progress" });
  switch (args.kind) {
    case "engine":
      // In an executor, so a throw is reported as the child's error line rather than crashing it.
      return new Promise((resolve) => resolve(measureEngineAlone(args.scenario, args.window)));
    case "runtime":
      return measureRuntimeAlone(args.concurrency, args.window, progress, args.over);
    case "row":
      return runSagaflowCell(memoryTarget, args.scenario, args.concurrency, args.window, null, progress);
    case "alone":
      return runStoreAloneCell(memoryTarget, args.concurrency, args.window, progress);
  }
}

if (isEntryPoint(import.meta.url)) runAsChild(() => childMain(childArgument<ApartArgs>()));
