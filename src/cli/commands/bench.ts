import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { UsageError } from "../errors.js";

/** The repository root: this file is src/cli/commands/bench.ts, or dist/cli/commands/bench.js once built. */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** The harness stays outside the library's import graph: it is started as a process, never imported. */
const HARNESS = join(ROOT, "bench", "run.ts");

interface BenchOptions {
  quick?: boolean;
  peers?: boolean;
  stores?: string;
  concurrency?: string;
  out?: string;
}

/** `sagaflow bench`: runs the repository's benchmark harness (`npm run bench`) with the same flags. */
export function benchCommand(): Command {
  return new Command("bench")
    .summary("measure sagas/s, latency, commits per saga, memory and recovery (the repository's harness)")
    .description(
      "run the benchmark harness in bench/, as `npm run bench` does: a 3-step saga and its compensating variant at several " +
        "concurrencies on the memory, SQLite and PostgreSQL ($DATABASE_URL) stores, beside each store's raw commit rate and the store alone (its writes with no engine). " +
        "It prints a table on stdout and writes bench/results/latest.json; docs/benchmarks.md says what each figure means.",
    )
    .option("--quick", "the whole run in under two minutes (3 short repeats per cell); default: full (5 repeats of ≥ 1 s)")
    .option("--peers", "also run the same workload on DBOS Transact against the same PostgreSQL")
    .option("--stores <list>", "stores to measure: memory,sqlite,postgres (default: all)")
    .option("--concurrency <list>", "sagas in flight (default: 1,64,512)")
    .option("--out <file>", "where to write the JSON (default: bench/results/latest.json)")
    .action(async (options: BenchOptions) => {
      if (!existsSync(HARNESS)) {
        throw new UsageError(`the benchmark harness (${HARNESS}) ships with the repository, not the package; run it from a clone with npm run bench`);
      }
      const args: string[] = [];
      if (options.quick === true) args.push("--quick");
      if (options.peers === true) args.push("--peers");
      for (const flag of ["stores", "concurrency", "out"] as const) {
        const value = options[flag];
        // The harness runs from the repository root, so a relative --out is made absolute here.
        if (value !== undefined) args.push(`--${flag}`, flag === "out" ? resolve(value) : value);
      }
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", HARNESS, ...args], { cwd: ROOT, stdio: "inherit" });
        child.once("error", reject);
        child.once("exit", (exitCode, signal) => resolve(exitCode ?? (signal === null ? 1 : 128)));
      });
      if (code !== 0) throw new Error(`the benchmark harness failed (exit code ${code}); its own message is above`);
    });
}
