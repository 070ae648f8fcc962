// The disk between cells. After a burst of durable writes (the ceilings, a store-alone cell at 512
// in flight), this machine's disk stays slow for some seconds while the system writes back what
// the burst left: one-row durable commits measured here took 0.29–0.36 ms for 3 s after a 4-second
// burst and 0.12–0.16 ms from then on. A cell started in that window pays for the cell before it,
// most of all at concurrency 1, where every commit waits for its flush. So before each cell that
// writes to disk, the harness probes the commit latency and waits, up to a limit, until it is back
// within a margin of the best it has seen in this run; every cell's probe goes into the report.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import Database from "better-sqlite3";

/** Commits per probe: a median over this many, 15–70 ms of the run each time. */
const PROBE_COMMITS = 100;
/** Settled: the probe's median is within this factor of the best median of the run… */
const SETTLED_FACTOR = 1.5;
/** …or within this many milliseconds of it (sub-0.1 ms medians jitter by more than half). */
const SETTLED_SLACK_MS = 0.05;
/** Between probes while waiting. */
const PROBE_INTERVAL_MS = 500;

/** What settling found before one cell. */
export interface DiskSettle {
  /** The last probe's median one-row commit, in ms. */
  probeMs: number;
  /** The best probe median of the run so far, in ms. */
  bestMs: number;
  /** How long the harness waited for the disk. */
  waitedMs: number;
  /** False when the limit ran out with the disk still slow. */
  settled: boolean;
}

/** Measures and waits; the probe, the sleep and the clock are parameters so the waiting rule can be tested. */
export class DiskSettler {
  readonly #probe: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;
  #bestMs = Number.POSITIVE_INFINITY;

  constructor(probe: () => number, sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)), now: () => number = () => performance.now()) {
    this.#probe = probe;
    this.#sleep = sleep;
    this.#now = now;
  }

  get bestMs(): number {
    return this.#bestMs;
  }

  /** Probes until the disk is back within the margin of the run's best, or `maxWaitMs` passed. */
  async settle(maxWaitMs: number): Promise<DiskSettle> {
    const started = this.#now();
    for (;;) {
      const probeMs = this.#probe();
      this.#bestMs = Math.min(this.#bestMs, probeMs);
      const waitedMs = this.#now() - started;
      const settled = probeMs <= Math.max(this.#bestMs * SETTLED_FACTOR, this.#bestMs + SETTLED_SLACK_MS);
      if (settled || waitedMs + PROBE_INTERVAL_MS > maxWaitMs) return { probeMs, bestMs: this.#bestMs, waitedMs, settled };
      await this.#sleep(PROBE_INTERVAL_MS);
    }
  }
}

/**
 * A probe of one-row durable commits (WAL, synchronous=FULL) on a scratch SQLite file in `dir`
 * (the directory the SQLite cells use), kept open for the run; `close` deletes it.
 */
export function sqliteCommitProbe(dir = tmpdir()): { probe: () => number; close: () => void } {
  const scratch = mkdtempSync(join(dir, "sagaflow-bench-probe-"));
  const db = new Database(join(scratch, "probe.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.exec("CREATE TABLE probe (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  const insert = db.prepare("INSERT INTO probe (v) VALUES (?)");
  const payload = "p".repeat(200);
  const latencies = new Array<number>(PROBE_COMMITS);
  return {
    probe(): number {
      for (let i = 0; i < PROBE_COMMITS; i++) {
        const started = performance.now();
        insert.run(payload);
        latencies[i] = performance.now() - started;
      }
      latencies.sort((a, b) => a - b);
      return latencies[PROBE_COMMITS >> 1] as number;
    },
    close(): void {
      db.close();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}
