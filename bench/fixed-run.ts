// A fixed number of sagas through the runtime, with no clock in the loop: what `npm run
// bench:instructions` runs under valgrind twice (two counts of sagas) to count the instructions a
// saga costs, a figure that, unlike a rate, this noisy machine does not move (see
// docs/benchmarks.md, "Counting instructions").
//
//   node --import tsx bench/fixed-run.ts <memory|null> <concurrency> <sagas>
import { sagaflowLauncher } from "./measure.js";
import { NullStore } from "./null-store.js";
import { orchestrate } from "./targets.js";
import { benchSagas, EXPECTED_STATUS } from "./workload.js";
import { createMemoryStore } from "../src/store/memory/index.js";

export const FIXED_RUN_STORES = ["memory", "null"] as const;
export type FixedRunStore = (typeof FIXED_RUN_STORES)[number];

/**
 * Runs `sagas` success sagas with `concurrency` in flight (a closed loop, as the benchmark's rows);
 * resolves with how many ended, once all did as expected, and rejects at the first that did not.
 */
export async function fixedRun(store: FixedRunStore, concurrency: number, sagas: number): Promise<number> {
  const orchestrator = await orchestrate(store === "null" ? new NullStore() : createMemoryStore(), concurrency, [benchSagas.success]);
  const launcher = sagaflowLauncher(orchestrator, benchSagas.success, EXPECTED_STATUS.success);
  try {
    let launched = 0;
    let ended = 0;
    return await new Promise<number>((resolve, reject) => {
      const launchOne = (): void => {
        launcher.launch(launched++, (error) => {
          if (error !== undefined) {
            reject(error);
            return;
          }
          ended++;
          if (launched < sagas) launchOne();
          else if (ended === sagas) resolve(ended);
        });
      };
      for (let i = 0; i < Math.min(concurrency, sagas); i++) launchOne();
    });
  } finally {
    launcher.dispose();
    await orchestrator.close();
  }
}

const [, script, store, concurrency, sagas] = process.argv;
if (script !== undefined && import.meta.url.endsWith(script.replace(/^.*\//, "/"))) {
  if (!FIXED_RUN_STORES.includes(store as FixedRunStore) || !(Number(concurrency) >= 1) || !(Number(sagas) >= 1)) {
    console.error("usage: node --import tsx bench/fixed-run.ts <memory|null> <concurrency ≥ 1> <sagas ≥ 1>");
    process.exit(2);
  }
  await fixedRun(store as FixedRunStore, Number(concurrency), Number(sagas));
}
