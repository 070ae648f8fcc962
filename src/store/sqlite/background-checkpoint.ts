// Checkpoints the WAL from a worker thread with a connection of its own, so that copying pages
// back into the database file (and flushing it) no longer runs inside the writer's commits on the
// event loop. SQLite's automatic checkpoint runs in whichever commit takes the WAL past 1,000
// pages: on the main thread, every few milliseconds under load, about a tenth of the store's time
// at 512 sagas in flight, and a stall for everything else on the event loop while it runs.
//
// Durability does not depend on it: a commit is durable once its WAL frames are flushed, which the
// writer still does itself. The checkpointer only moves pages the WAL already holds, and a
// PASSIVE checkpoint never waits for or blocks the writer. If it falls behind, or its thread
// dies, the writer's own automatic checkpoint takes over at `WRITER_CHECKPOINT_PAGES`.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/**
 * The writer's own automatic checkpoint while a background one runs: a safety net, not the usual
 * path. It also restarts the WAL from its start when the background checkpoints, overlapping
 * the writer's commits, never quite catch up; most pages are copied by then, so it is quick.
 */
export const WRITER_CHECKPOINT_PAGES = 4_000;
/** SQLite's default, back in force when the background thread is gone. */
export const DEFAULT_CHECKPOINT_PAGES = 1_000;
/** How often the thread looks for new commits to checkpoint. */
const INTERVAL_MS = 50;

// Plain CommonJS run with `eval`, so the same code works from the TypeScript sources (tests) and
// from the compiled package, with no file of its own to resolve.
// The driver's errors are rethrown as plain Errors: its own class reaches the parent thread
// without its message.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driverPath);
const plain = (error) => new Error(error && error.code ? error.code + ": " + error.message : String(error && error.message || error));
let db;
try {
  db = new Database(workerData.path, { fileMustExist: true });
  db.pragma("synchronous = " + workerData.synchronous);
} catch (error) {
  throw plain(error);
}
const writes = new Int32Array(workerData.writes);
// From 0, not from the count at start: the thread is started by a first write, and the writes
// made while it started (all of them, if the writer then goes quiet) must be checkpointed too.
let seen = 0;
const timer = setInterval(() => {
  const now = Atomics.load(writes, 0);
  if (now === seen) return;
  seen = now;
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch (error) {
    throw plain(error);
  }
  Atomics.add(writes, 1, 1);
}, workerData.intervalMs);
parentPort.on("message", () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

/** Counters shared with the thread: [0] write transactions committed, [1] checkpoints run. */
const SLOTS = 2;

/** What the background checkpointer has done so far. */
export interface CheckpointStats {
  /** Checkpoints the thread ran (only after new commits). */
  readonly checkpoints: number;
  /** Whether the thread still runs; false once closed or if it failed (the writer checkpoints itself again). */
  readonly running: boolean;
  /** Why the thread stopped, if it failed. */
  readonly failure: string | null;
}

/** A thread that checkpoints the WAL of the database at `path` after the writer commits. */
export class BackgroundCheckpointer {
  readonly #worker: Worker;
  readonly #counters: Int32Array;
  readonly #exited: Promise<void>;
  #running = true;
  #failure: string | null = null;

  /**
   * Starts the thread on the database file at `path`, which must exist. `onFailure` runs if the
   * thread fails, so the writer can take checkpoints back; `close` does not call it.
   */
  constructor(path: string, synchronous: "FULL" | "NORMAL", onFailure: (reason: string) => void) {
    this.#counters = new Int32Array(new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT));
    const driverPath = createRequire(import.meta.url).resolve("better-sqlite3");
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { path, synchronous, driverPath, writes: this.#counters.buffer, intervalMs: INTERVAL_MS },
    });
    // A store left open must not keep the process alive; the thread holds no data of its own.
    this.#worker.unref();
    this.#exited = new Promise((resolve) => {
      this.#worker.once("error", (error: unknown) => {
        this.#failure = error instanceof Error ? error.message : String(error);
        this.#running = false;
        onFailure(this.#failure);
      });
      this.#worker.once("exit", () => {
        this.#running = false;
        resolve();
      });
    });
  }

  /** The writer committed a transaction: the next tick checkpoints. */
  wrote(): void {
    Atomics.add(this.#counters, 0, 1);
  }

  get stats(): CheckpointStats {
    return { checkpoints: Atomics.load(this.#counters, 1), running: this.#running, failure: this.#failure };
  }

  /** Stops the thread and closes its connection; the writer's close then checkpoints what is left. */
  async close(): Promise<void> {
    if (this.#running) {
      // Held by the event loop until it has gone, or a caller awaiting this with nothing else to
      // do would see the process exit first (the thread is unref'd).
      this.#worker.ref();
      this.#worker.postMessage("close");
    }
    await this.#exited;
  }
}
