// Instructions per saga, counted: `bench/fixed-run.ts` under valgrind's cachegrind with two counts
// of sagas, and the difference divided by the difference of sagas, so start-up and compilation
// cancel out. Rates on this 2-core VM move by 2× within an hour; these counts move by a few
// percent between identical runs, so a change that saves 2–3% of a saga's work shows. What they
// miss: cache misses and GC threads' wall time (cachegrind counts every thread's instructions, and
// simulates no timing). See docs/benchmarks.md, "Counting instructions".
//
//   npm run bench:instructions -- [memory|null] [concurrency] [fewer sagas] [more sagas]
import { execFileSync, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { FIXED_RUN_STORES, type FixedRunStore } from "./fixed-run.js";

/** V8 compiles on the main thread and collects on one thread: the same work lands in the count run after run. */
const NODE_FLAGS = ["--no-concurrent-recompilation", "--single-threaded-gc"];

/**
 * Where the project is compiled to for the count: inside the checkout (git-ignored), so compiled
 * files find `node_modules`. Run from TypeScript through tsx instead, identical counts spread by
 * about 6% (the loader's own work interleaved with the run's); compiled, by about 2%.
 */
const COMPILED = ".tmp/instructions";
const FIXED_RUN = `${COMPILED}/bench/fixed-run.js`;

function compile(): void {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.json", "--noEmit", "false", "--outDir", COMPILED, "--rootDir", "."], { stdio: "inherit" });
}

function instructions(store: FixedRunStore, concurrency: number, sagas: number): Promise<number> {
  const args = ["--tool=cachegrind", "--cache-sim=no", "--smc-check=all-non-file", "--cachegrind-out-file=/dev/null"];
  const child = spawn("valgrind", [...args, process.execPath, ...NODE_FLAGS, FIXED_RUN, store, String(concurrency), String(sagas)], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", (error: NodeJS.ErrnoException) =>
      reject(error.code === "ENOENT" ? new Error("valgrind is not installed (Debian: apt-get install valgrind)") : error),
    );
    child.on("close", (code) => {
      const refs = /I\s+refs:\s+([\d,]+)/.exec(stderr)?.[1];
      if (code !== 0 || refs === undefined) reject(new Error(`valgrind exited with ${String(code)}:\n${stderr.slice(-2000)}`));
      else resolve(Number(refs.replaceAll(",", "")));
    });
  });
}

const [store = "memory", concurrency = "512", fewer = "20000", more = "100000"] = process.argv.slice(2);
if (!FIXED_RUN_STORES.includes(store as FixedRunStore) || !(Number(concurrency) >= 1) || !(Number(more) > Number(fewer)) || !(Number(fewer) >= 1)) {
  console.error("usage: npm run bench:instructions -- [memory|null] [concurrency ≥ 1] [fewer sagas ≥ 1] [more sagas > fewer]");
  process.exit(2);
}
compile();
// The two runs side by side, one per core.
const [a, b] = await Promise.all([instructions(store as FixedRunStore, Number(concurrency), Number(fewer)), instructions(store as FixedRunStore, Number(concurrency), Number(more))]);
const perSaga = (b - a) / (Number(more) - Number(fewer));
console.log(`${store} store, C=${concurrency}: ${Math.round(perSaga).toLocaleString("en-US")} instructions a saga (${fewer} sagas: ${a.toLocaleString("en-US")}, ${more}: ${b.toLocaleString("en-US")})`);
