// The stores under test, each opened fresh for one (scenario, concurrency) cell: a new memory
// store, a new SQLite file, or a new PostgreSQL schema, dropped or deleted afterwards.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Orchestrator, type SagaDefinition, type SagaStore } from "../src/index.js";
import { createMemoryStore } from "../src/store/memory/index.js";
import { openPostgresStore } from "../src/store/postgres/index.js";
import { openSqliteStore, type SqliteStore } from "../src/store/sqlite/index.js";
import type { StoreCounters } from "./measure.js";
import { dropSchema, scratchName, withParams } from "./pg.js";
import type { BenchInput } from "./workload.js";

export type StoreName = "memory" | "sqlite" | "postgres" | "dbos";
export const STORE_NAMES: readonly StoreName[] = ["memory", "sqlite", "postgres"];

/** A store under test, opened once per cell. */
export interface Target {
  store: StoreName;
  /** What a commit survives with these settings, as the table prints it. */
  durability: string;
  /** The default durability of the store, or a faster mode that is off unless asked for. */
  faster: boolean;
  /**
   * Opens a fresh store and an orchestrator with `concurrency` worker slots. PostgreSQL migrates
   * with a connection of its own first and calls `migrated` once that connection is closed, so a
   * caller can read the server's counters without the DDL in them.
   */
  open(concurrency: number, definitions: ReadonlyArray<SagaDefinition<BenchInput>>, migrated?: (applicationName: string) => Promise<void>): Promise<OpenTarget>;
  /** Opens a fresh store alone, without an orchestrator (the store-alone measurement drives it directly). */
  openStore(): Promise<OpenStore>;
}

/** A fresh store opened alone. */
export interface OpenStore {
  store: SagaStore;
  close(): Promise<void>;
  dispose(): Promise<void>;
}

export interface OpenTarget {
  orchestrator: Orchestrator;
  counters?: () => StoreCounters;
  /** PostgreSQL only: the `application_name` its connections carry, so the server's counters can be read after they close. */
  applicationName?: string;
  /** Stops the orchestrator and closes the store. */
  close(): Promise<void>;
  /** Deletes what the cell left: the SQLite file or the PostgreSQL schema. */
  dispose(): Promise<void>;
}

const BENCH_WORKER = "bench-worker";

/** An orchestrator over `store` with `concurrency` worker slots, as every cell opens one. */
export function orchestrate(store: SagaStore, concurrency: number, definitions: ReadonlyArray<SagaDefinition<BenchInput>>): Promise<Orchestrator> {
  // Worker slots = the concurrency under test, so every start takes the in-process fast path.
  return Orchestrator.create({ store, definitions, concurrency, workerId: BENCH_WORKER });
}

export const memoryTarget: Target = {
  store: "memory",
  durability: "none (process memory)",
  faster: false,
  async open(concurrency, definitions) {
    const orchestrator = await orchestrate(createMemoryStore(), concurrency, definitions);
    return { orchestrator, close: () => orchestrator.close(), dispose: () => Promise.resolve() };
  },
  openStore() {
    const store = createMemoryStore();
    return Promise.resolve({ store, close: () => store.close(), dispose: () => Promise.resolve() });
  },
};

export function sqliteTarget(synchronous: "FULL" | "NORMAL"): Target {
  /** A fresh file in its own temp directory, which `dispose` deletes. */
  const openFile = async (): Promise<{ store: SqliteStore; dispose: () => Promise<void> }> => {
    const dir = mkdtempSync(join(tmpdir(), "sagaflow-bench-"));
    const store = await openSqliteStore({ path: join(dir, "bench.db"), synchronous });
    return { store, dispose: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) };
  };
  return {
    store: "sqlite",
    durability: `synchronous=${synchronous}`,
    faster: synchronous !== "FULL",
    async open(concurrency, definitions) {
      const { store, dispose } = await openFile();
      const orchestrator = await orchestrate(store, concurrency, definitions);
      return { orchestrator, counters: () => store.stats, close: () => orchestrator.close(), dispose };
    },
    async openStore() {
      const { store, dispose } = await openFile();
      return { store, close: () => store.close(), dispose };
    },
  };
}

export function postgresTarget(url: string, synchronousCommit: "on" | "off"): Target {
  return {
    store: "postgres",
    durability: `synchronous_commit=${synchronousCommit}`,
    faster: synchronousCommit !== "on",
    async open(concurrency, definitions, migrated) {
      const schema = scratchName("sagaflow_bench");
      const applicationName = `sagaflow-bench-${schema.slice(-8)}`;
      // `options` reaches every connection the store opens, the notification listener's included.
      const connectionString = withParams(url, { options: `-c synchronous_commit=${synchronousCommit}` });
      // Migrate with a store of its own first, so the measured store's counters hold no DDL.
      await (await openPostgresStore({ connectionString, schema, applicationName: `${applicationName}-init` })).close();
      await migrated?.(`${applicationName}-init`);
      const store = await openPostgresStore({ connectionString, schema, applicationName });
      const orchestrator = await orchestrate(store, concurrency, definitions);
      return {
        orchestrator,
        counters: () => store.stats,
        applicationName,
        close: () => orchestrator.close(),
        dispose: () => dropSchema(url, schema),
      };
    },
    async openStore() {
      const schema = scratchName("sagaflow_bench");
      const connectionString = withParams(url, { options: `-c synchronous_commit=${synchronousCommit}` });
      const store = await openPostgresStore({ connectionString, schema, applicationName: `sagaflow-bench-${schema.slice(-8)}` });
      return { store, close: () => store.close(), dispose: () => dropSchema(url, schema) };
    },
  };
}

/** The targets of `--stores`, the faster modes included as rows of their own. */
export function targetsFor(stores: readonly StoreName[], url: string): Target[] {
  const targets: Target[] = [];
  if (stores.includes("memory")) targets.push(memoryTarget);
  if (stores.includes("sqlite")) targets.push(sqliteTarget("FULL"), sqliteTarget("NORMAL"));
  if (stores.includes("postgres")) targets.push(postgresTarget(url, "on"), postgresTarget(url, "off"));
  return targets;
}
