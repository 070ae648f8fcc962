import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { SchemaTooNewError, StoreUnavailableError } from "../../src/errors.js";
import { LATEST_SCHEMA_VERSION, openSqliteStore, SqliteStore } from "../../src/store/sqlite/index.js";
import { WRITER_CHECKPOINT_PAGES } from "../../src/store/sqlite/background-checkpoint.js";
import { MIGRATIONS } from "../../src/store/sqlite/migrations.js";
import { CREATE_LEDGER } from "../../src/store/sqlite/queries.js";
import { stateToJson } from "../../src/store/state-json.js";
import type { SagaState } from "../../src/domain/state.js";
import { describeStoreConformance } from "./conformance.js";
import { definitionOf, tripDocument } from "./conformance-definitions.js";
import { cancel, claim, commitOf, create, expectInvalidArgument, LEASE_MS, newSaga, ORDER, sagaCompleted, stepSucceeded, T0 } from "./fixtures.js";

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "sagaflow-sqlite-"));
  tempDirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describeStoreConformance("SqliteStore", async () => {
  const store = await openSqliteStore({ path: join(tempDir(), "sagas.db") });
  return { store, cleanup: () => store.close() };
});

// The same contract with every group commit written by the writer thread (or, when an item is
// refused or conflicts, rolled back there and written again on the event loop's connection).
describeStoreConformance("SqliteStore with its writer thread taking every batch", async () => {
  const store = await openSqliteStore({ path: join(tempDir(), "sagas.db"), writerThread: { minBatch: 1 } });
  return { store, cleanup: () => store.close() };
});

/** Awaits a promise that must reject, and returns the reason. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error("expected a rejection, but the call succeeded"),
    (reason: unknown) => reason,
  );
}

describe("SqliteStore on disk", () => {
  let dir: string;
  let path: string;
  beforeEach(() => {
    dir = tempDir();
    path = join(dir, "sagas.db");
  });

  it("keeps instances, history and inbox across close and reopen", async () => {
    const first = await openSqliteStore({ path });
    await create(first, "a");
    const [claimed] = await claim(first, "w1", T0, ["a"]);
    if (claimed === undefined) throw new Error("claim failed");
    await first.commitTransitions([commitOf(claimed, stepSucceeded(claimed.record.state, T0 + 1), { nowMs: T0 + 1, lease: "release" })]);
    await first.deliver("a", cancel(), T0 + 2);
    const before = { record: await first.getInstance("a"), history: await first.getHistory("a") };
    await first.close();

    const second = await openSqliteStore({ path });
    expect({ record: await second.getInstance("a"), history: await second.getHistory("a") }).toEqual(before);
    expect(before.history).toHaveLength(3);
    const [again] = await claim(second, "w2", T0 + 2, ["a"]);
    expect(again?.inbox).toEqual([{ seq: 1, event: cancel(), receivedAtMs: T0 + 2 }]);
    await second.close();
  });

  it("upgrades a database written at schema version 1 without losing its sagas, history or inbox", async () => {
    const v1 = MIGRATIONS.find((m) => m.version === 1);
    if (v1 === undefined) throw new Error("migration 1 is missing");
    const { state, history } = newSaga("old");
    const raw = new Database(path);
    raw.exec(CREATE_LEDGER);
    raw.exec(v1.sql);
    raw.prepare("INSERT INTO sagaflow_migrations (version, name, applied_at_ms) VALUES (1, ?, 0)").run(v1.name);
    raw
      .prepare(
        `INSERT INTO saga_instances (id, definition_name, definition_version, status, idempotency_key, state_json, wake_at_ms,
           lease_owner, lease_expires_at_ms, epoch, inbox_seq, inbox_applied_seq, history_count, created_at_ms, updated_at_ms)
         VALUES ('old', ?, ?, 'running', NULL, ?, ?, NULL, NULL, 0, 1, 0, ?, ?, ?)`,
      )
      .run(state.definitionName, state.definitionVersion, JSON.stringify(state), T0, history.length, T0, T0);
    history.forEach((entry, index) => {
      raw.prepare("INSERT INTO saga_events (saga_id, seq, type, at_ms, entry_json) VALUES ('old', ?, ?, ?, ?)").run(index + 1, entry.type, entry.atMs, JSON.stringify(entry));
    });
    raw.prepare("INSERT INTO saga_inbox (saga_id, seq, event_json, received_at_ms) VALUES ('old', 1, ?, ?)").run(JSON.stringify(cancel()), T0);
    raw.close();

    const store = await openSqliteStore({ path });
    try {
      expect((await store.getInstance("old"))?.state).toEqual(state);
      // Migration 3 carried every entry over, whole and with its number.
      expect(await store.getHistory("old")).toEqual(history.map((entry, index) => ({ ...entry, seq: index + 1 })));
      const [claimed] = await claim(store, "w1", T0, ["old"]);
      expect(claimed?.inbox).toEqual([{ seq: 1, event: cancel(), receivedAtMs: T0 }]);
    } finally {
      await store.close();
    }
    const check = new Database(path, { readonly: true });
    try {
      const versions = check.prepare("SELECT version FROM sagaflow_migrations ORDER BY version").all() as Array<{ version: number }>;
      expect(versions.map((v) => v.version)).toEqual(Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1));
      // Migration 2 dropped the foreign keys; migration 3 made each old entry a history row of its own.
      expect(check.prepare("SELECT * FROM pragma_foreign_key_list('saga_history')").all()).toEqual([]);
      expect(check.prepare("SELECT * FROM pragma_foreign_key_list('saga_inbox')").all()).toEqual([]);
      expect(check.prepare("SELECT count(*) AS n, sum(entry_count) AS entries FROM saga_history").get()).toEqual({ n: history.length, entries: history.length });
      expect(check.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'saga_events'").get()).toEqual({ n: 0 });
      // Migration 7: history rows in write order (a table with rowids), (saga_id, seq) their unique key.
      expect(check.prepare("SELECT wr FROM pragma_table_list WHERE name = 'saga_history'").get()).toEqual({ wr: 0 });
      expect(check.prepare("SELECT origin, \"unique\" FROM pragma_index_list('saga_history')").all()).toEqual([{ origin: "pk", unique: 1 }]);
    } finally {
      check.close();
    }
  });

  it("upgrades a database written at schema version 3 to saved definitions without losing its sagas, history or inbox", async () => {
    const { state, history } = newSaga("old");
    const raw = new Database(path);
    raw.exec(CREATE_LEDGER);
    for (const migration of MIGRATIONS.filter((m) => m.version <= 3)) {
      raw.exec(migration.sql);
      raw.prepare("INSERT INTO sagaflow_migrations (version, name, applied_at_ms) VALUES (?, ?, 0)").run(migration.version, migration.name);
    }
    raw
      .prepare(
        `INSERT INTO saga_instances (id, definition_name, definition_version, status, idempotency_key, state_json, wake_at_ms,
           lease_owner, lease_expires_at_ms, epoch, inbox_seq, inbox_applied_seq, history_count, created_at_ms, updated_at_ms)
         VALUES ('old', ?, ?, 'running', NULL, ?, ?, NULL, NULL, 0, 1, 0, ?, ?, ?)`,
      )
      .run(state.definitionName, state.definitionVersion, JSON.stringify(state), T0, history.length, T0, T0);
    raw.prepare("INSERT INTO saga_history (saga_id, seq, entry_count, at_ms, entries_json) VALUES ('old', 1, ?, ?, ?)").run(history.length, T0, JSON.stringify(history));
    raw.prepare("INSERT INTO saga_inbox (saga_id, seq, event_json, received_at_ms) VALUES ('old', 1, ?, ?)").run(JSON.stringify(cancel()), T0);
    raw.close();

    const store = await openSqliteStore({ path });
    try {
      expect((await store.getInstance("old"))?.state).toEqual(state);
      expect(await store.getHistory("old")).toEqual(history.map((entry, index) => ({ ...entry, seq: index + 1 })));
      const [claimed] = await claim(store, "w1", T0, ["old"]);
      expect(claimed?.inbox).toEqual([{ seq: 1, event: cancel(), receivedAtMs: T0 }]);
      expect(await store.listDefinitions()).toEqual([]);
      expect(await store.saveDefinition(definitionOf("trip", 1), T0)).toMatchObject({ saved: true });
    } finally {
      await store.close();
    }
    const check = new Database(path, { readonly: true });
    try {
      const versions = check.prepare("SELECT version FROM sagaflow_migrations ORDER BY version").pluck().all();
      expect(versions).toEqual(Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1));
      expect(LATEST_SCHEMA_VERSION).toBeGreaterThanOrEqual(4);
      expect(check.prepare("SELECT name, version FROM saga_definitions").all()).toEqual([{ name: "trip", version: 1 }]);
    } finally {
      check.close();
    }
  });

  it("shares saved definitions between two stores on one file: the second is told of the first's", async () => {
    const one = await openSqliteStore({ path });
    const two = await openSqliteStore({ path });
    try {
      const first = definitionOf("trip", 1, tripDocument("one"));
      const second = definitionOf("trip", 1, tripDocument("two"));
      const [a, b] = await Promise.all([one.saveDefinition(first, T0), two.saveDefinition(second, T0 + 1)]);

      expect(a).toEqual({ saved: true, definition: { ...first, createdAtMs: T0 } });
      expect(b).toEqual({ saved: false, reason: "conflict", definition: { ...first, createdAtMs: T0 } });
      expect(await two.getDefinition("trip", 1)).toEqual({ ...first, createdAtMs: T0 });
      expect(await two.saveDefinition(first, T0 + 2)).toMatchObject({ saved: false, reason: "exists" });
      expect(await one.listDefinitions()).toEqual(await two.listDefinitions());
    } finally {
      await one.close();
      await two.close();
    }
  });

  it("deletes inbox messages once a commit applied them", async () => {
    const store = await openSqliteStore({ path });
    await create(store, "a");
    await store.deliver("a", cancel("one"), T0);
    await store.deliver("a", cancel("two"), T0);
    const [claimed] = await claim(store, "w1", T0, ["a"]);
    if (claimed === undefined) throw new Error("claim failed");
    const raw = new Database(path, { readonly: true });
    const pending = (): unknown[] => raw.prepare("SELECT seq FROM saga_inbox WHERE saga_id = 'a'").pluck().all();
    expect(pending()).toEqual([1, 2]);

    const outcome = await store.commitTransitions([commitOf(claimed, stepSucceeded(claimed.record.state, T0 + 1), { nowMs: T0 + 1, inboxSeq: 2 })]);
    expect(outcome).toEqual([{ ok: true }]);
    expect(pending()).toEqual([]);
    raw.close();
    await store.close();
  });

  it("leaves an earlier due wake-up stored while a leased saga goes on running, and still hands it on once the lease ends", async () => {
    const store = await openSqliteStore({ path });
    await create(store, "a");
    const raw = new Database(path);
    const stored = (): unknown => raw.prepare("SELECT wake_at_ms FROM saga_instances WHERE id = 'a'").pluck().get();
    /** Pages the next write adds to the WAL: emptied first, then counted after. */
    const emptyWal = (): void => void raw.pragma("wal_checkpoint(TRUNCATE)");
    const walFrames = (): number => (raw.pragma("wal_checkpoint(PASSIVE)") as Array<{ log: number }>)[0]?.log ?? Number.NaN;
    expect(stored()).toBe(T0);
    const [claimed] = await claim(store, "w1", T0, ["a"]);
    if (claimed === undefined) throw new Error("claim failed");

    // A step's outcome and the next step's start, due now: the row changes, no index does.
    emptyWal();
    const next = stepSucceeded(claimed.record.state, T0 + 5);
    expect(await store.commitTransitions([commitOf(claimed, next, { nowMs: T0 + 5 })])).toEqual([{ ok: true }]);
    expect(stored()).toBe(T0);
    expect((await store.getInstance("a"))?.state.wakeAtMs).toBe(T0 + 5);
    expect((await store.getHistory("a")).map((entry) => entry.seq)).toEqual([1, 2, 3]);
    // The instance's leaf, and the history's leaf and its key's: nothing of the six indexes on saga_instances.
    expect(walFrames()).toBeLessThanOrEqual(3);

    // Another worker claims it only once the lease ran out, as if the stored wake-up were T0 + 5.
    expect(await store.claimDue({ workerId: "w2", nowMs: T0 + 10, leaseMs: 1_000, limit: 10, definitions: ["order@1", "refund@1"] })).toEqual([]);
    const [again] = await claim(store, "w2", T0 + 5 + LEASE_MS + 1, ["a"]);
    expect(again?.record.state.wakeAtMs).toBe(T0 + 5);

    // A wake-up in the future (a retry's backoff) is stored as it is.
    if (again === undefined) throw new Error("claim failed");
    const later = { state: { ...again.record.state, wakeAtMs: T0 + 90_000 }, history: [] };
    expect(await store.commitTransitions([commitOf(again, later, { workerId: "w2", nowMs: T0 + 5 + LEASE_MS + 2 })])).toEqual([{ ok: true }]);
    expect(stored()).toBe(T0 + 90_000);
    raw.close();
    await store.close();
  });

  it("stores states without what is still at its initial value, and reads them back whole", async () => {
    const store = await openSqliteStore({ path });
    await create(store, "a");
    const raw = new Database(path, { readonly: true });
    const stored = (): unknown => raw.prepare("SELECT state_json FROM saga_instances WHERE id = 'a'").pluck().get();
    const created = await store.getInstance("a");
    expect(stored()).toBe(stateToJson(created?.state as SagaState));
    expect(stored()).not.toContain('"failures":0');

    const [claimed] = await claim(store, "w1", T0, ["a"]);
    if (claimed === undefined) throw new Error("claim failed");
    const next = stepSucceeded(claimed.record.state, T0 + 1);
    expect(await store.commitTransitions([commitOf(claimed, next, { nowMs: T0 + 1 })])).toEqual([{ ok: true }]);
    expect(stored()).toBe(stateToJson(next.state));
    expect((await store.getInstance("a"))?.state).toStrictEqual(next.state);
    expect((await store.listInstances({ limit: 10 })).items[0]?.steps[0]?.compensation).toStrictEqual({ status: "pending", attempt: 0, failures: 0 });
    raw.close();
    await store.close();
  });

  it("applies migrations once, however often it is opened or initialised", async () => {
    const first = await openSqliteStore({ path });
    await create(first, "a");
    await first.init();
    await first.close();
    const second = await openSqliteStore({ path });
    expect(await second.getInstance("a")).not.toBeNull();
    await second.close();

    const raw = new Database(path, { readonly: true });
    const versions = raw.prepare("SELECT version FROM sagaflow_migrations ORDER BY version").pluck().all();
    raw.close();
    expect(versions).toEqual(Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1));
  });

  it("refuses a database migrated by a newer Sagaflow with SchemaTooNewError", async () => {
    await (await openSqliteStore({ path })).close();
    const raw = new Database(path);
    raw.prepare("INSERT INTO sagaflow_migrations (version, name, applied_at_ms) VALUES (?, 'from the future', 0)").run(LATEST_SCHEMA_VERSION + 1);
    const ledger = (): unknown[] => raw.prepare("SELECT * FROM sagaflow_migrations ORDER BY version").all();
    const before = ledger();

    const error = await rejectionOf(openSqliteStore({ path }));

    expect(error).toBeInstanceOf(SchemaTooNewError);
    expect(String(error)).toContain(`version ${LATEST_SCHEMA_VERSION + 1}`);
    expect(ledger()).toEqual(before);
    raw.close();
  });

  it("refuses a file that is not SQLite, naming it, and leaves it byte for byte as it was", async () => {
    const garbage = "these are my tax records, not a database\n".repeat(200);
    writeFileSync(path, garbage);

    const error = await rejectionOf(openSqliteStore({ path }));

    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).not.toContain("\n");
    expect(readFileSync(path, "utf8")).toBe(garbage);
    expect(readdirSync(dir)).toEqual(["sagas.db"]);
  });

  it("refuses a SQLite file whose schema page is corrupt, without changing it", async () => {
    await (await openSqliteStore({ path })).close();
    const bytes = readFileSync(path);
    bytes.fill(0xa5, 100, 4096);
    writeFileSync(path, bytes);

    const error = await rejectionOf(openSqliteStore({ path }));

    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toContain(path);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it("with mustExist, refuses a missing path without creating it, and a SQLite file that is not Sagaflow's", async () => {
    const error = await rejectionOf(openSqliteStore({ path, mustExist: true }));
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toContain(`no Sagaflow database at ${path}`);
    expect(existsSync(path)).toBe(false);

    const foreign = join(dir, "other.db");
    const raw = new Database(foreign);
    raw.exec("CREATE TABLE notes (body TEXT)");
    raw.close();
    expect(await rejectionOf(openSqliteStore({ path: foreign, mustExist: true }))).toBeInstanceOf(StoreUnavailableError);

    await (await openSqliteStore({ path })).close();
    const existing = await openSqliteStore({ path, mustExist: true });
    expect(await existing.countByStatus()).toMatchObject({ running: 0 });
    await existing.close();
  });

  it("runs in WAL mode with synchronous=FULL, foreign keys and a 5 s busy timeout by default", async () => {
    const store = await openSqliteStore({ path });
    expect(store.pragmas()).toEqual({ journalMode: "wal", synchronous: 2, foreignKeys: true, busyTimeoutMs: 5000, walAutocheckpoint: 1000 });
    await store.close();
    const relaxed = await openSqliteStore({ path, synchronous: "NORMAL", busyTimeoutMs: 250 });
    expect(relaxed.pragmas()).toMatchObject({ synchronous: 1, busyTimeoutMs: 250 });
    await relaxed.close();
  });

  it("refuses unknown connection options", () => {
    expect(() => new SqliteStore({ path, synchronous: "OFF" as "FULL" })).toThrow(/synchronous/);
    expect(() => new SqliteStore({ path, busyTimeoutMs: -1 })).toThrow(/busyTimeoutMs/);
    expect(() => new SqliteStore({ path, backgroundCheckpoint: "yes" as unknown as boolean })).toThrow(/backgroundCheckpoint.*must be true or false/);
    expect(() => new SqliteStore({ path, writerThread: "yes" as unknown as boolean })).toThrow(/writerThread.*must be true, false or \{ minBatch \}/);
    expect(() => new SqliteStore({ path, writerThread: { minBatch: 0 } })).toThrow(/writerThread\.minBatch.*integer ≥ 1, got 0/);
    expect(() => new SqliteStore({ path: ":memory:", writerThread: true })).toThrow(/writerThread.*needs a database file/);
    // Asked for nothing, an in-memory database simply writes on the event loop.
    const inMemory = new SqliteStore({ path: ":memory:" });
    expect(inMemory.concurrentWrites).toBeUndefined();
    expect(inMemory.maxBatchSize).toBeUndefined();
    void inMemory.close();
    expect(existsSync(path)).toBe(false);
  });

  describe("checkpoints", () => {
    /** 100 sagas, each created in a write of its own: a few hundred WAL pages, below any automatic checkpoint. */
    async function writeSagas(store: SqliteStore): Promise<void> {
      for (let i = 0; i < 100; i++) await create(store, `s-${i}`);
    }
    async function until(condition: () => boolean, what: string): Promise<void> {
      const deadline = Date.now() + 10_000;
      while (!condition()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    it("copies committed pages into the database file from a thread of their own, which starts at the first write", async () => {
      const store = await openSqliteStore({ path });
      expect(store.backgroundCheckpoints).toBeNull();
      const sizeBefore = statSync(path).size;
      await writeSagas(store);
      expect(store.pragmas().walAutocheckpoint).toBe(WRITER_CHECKPOINT_PAGES);
      await until(() => (store.backgroundCheckpoints?.checkpoints ?? 0) > 0 && statSync(path).size > sizeBefore, "a background checkpoint");
      expect(store.backgroundCheckpoints).toMatchObject({ running: true, failure: null });
      // The WAL's frames are all in the database file now: a checkpoint from here has nothing to copy.
      await until(() => {
        const raw = new Database(path);
        try {
          const [result] = raw.pragma("wal_checkpoint(PASSIVE)") as Array<{ log: number; checkpointed: number }>;
          return result !== undefined && result.log === result.checkpointed;
        } finally {
          raw.close();
        }
      }, "every frame checkpointed");
      await store.close();
      expect(store.backgroundCheckpoints).toMatchObject({ running: false, failure: null });
      const reopened = await openSqliteStore({ path });
      expect((await reopened.countByStatus()).running).toBe(100);
      await reopened.close();
    });

    it("checkpoints the file it opened when given a relative path and the working directory changes after", async () => {
      const before = process.cwd();
      process.chdir(dir);
      let store: SqliteStore;
      try {
        store = await openSqliteStore({ path: "relative.db" });
      } finally {
        process.chdir(before);
      }
      const file = join(dir, "relative.db");
      const sizeBefore = statSync(file).size;
      await writeSagas(store);
      await until(() => (store.backgroundCheckpoints?.checkpoints ?? 0) > 0 && statSync(file).size > sizeBefore, "a background checkpoint of the opened file");
      expect(store.backgroundCheckpoints).toMatchObject({ running: true, failure: null });
      await store.close();
    });

    it("checkpoints the writes made while its thread was starting, even when none follow", async () => {
      const store = await openSqliteStore({ path });
      const sizeBefore = statSync(path).size;
      // All 100 writes run in this turn of the event loop (the driver is synchronous), so they are
      // done before the thread they start has run a line.
      await Promise.all(Array.from({ length: 100 }, (_, i) => create(store, `s-${i}`)));
      await until(() => (store.backgroundCheckpoints?.checkpoints ?? 0) > 0 && statSync(path).size > sizeBefore, "a background checkpoint");
      await store.close();
    });

    it("leaves checkpoints to the writer when turned off: below 1,000 WAL pages the database file does not grow", async () => {
      const store = await openSqliteStore({ path, backgroundCheckpoint: false });
      const sizeBefore = statSync(path).size;
      await writeSagas(store);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(store.backgroundCheckpoints).toBeNull();
      expect(store.pragmas().walAutocheckpoint).toBe(1000);
      expect(statSync(path).size).toBe(sizeBefore);
      await store.close();
    });

    it("goes on writing, and checkpoints in its own commits again, when the thread cannot run", async () => {
      const store = await openSqliteStore({ path });
      // The thread opens the file by name; gone, it fails to start, while the writer keeps its open file.
      rmSync(path);
      await writeSagas(store);
      await until(() => store.backgroundCheckpoints?.running === false, "the thread to stop");
      expect(store.backgroundCheckpoints?.failure).toMatch(/unable to open|does not exist|no such file/i);
      expect(store.pragmas().walAutocheckpoint).toBe(1000);
      await create(store, "after");
      expect((await store.countByStatus()).running).toBe(101);
      await store.close();
    });
  });

  it("writes a whole batch of commits in one transaction (group commit)", async () => {
    const store = await openSqliteStore({ path });
    for (const id of ["a", "b", "c"]) await create(store, id);
    const claimed = await claim(store, "w1", T0, ["a", "b", "c"]);
    const before = store.stats;

    const outcomes = await store.commitTransitions(claimed.map((c) => commitOf(c, stepSucceeded(c.record.state, T0 + 1), { nowMs: T0 + 1 })));

    expect(outcomes).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    expect(store.stats.commits - before.commits).toBe(1);
    expect(store.stats.statements).toBeGreaterThan(before.statements);
    await store.close();
  });

  it("writes large group commits from its writer thread exactly as it writes them itself, refusals and conflicts included", async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `s${String(i).padStart(2, "0")}`);
    /** The same writes on either store; what it answered and what it holds afterwards. */
    const run = async (store: SqliteStore): Promise<unknown> => {
      const answers: unknown[] = [];
      await create(store, "keyed", { key: "used", wakeAtMs: T0 + 10 * LEASE_MS });
      answers.push((await store.writeBatch({ creates: ids.map((id) => newSaga(id)), commits: [] })).creates.map((o) => (o.ok ? o.result : String(o.error))));
      const claimed = await claim(store, "w1", T0, ids, ids.length);
      answers.push(await store.writeBatch({ creates: [], commits: claimed.map((c) => commitOf(c, stepSucceeded(c.record.state, T0 + 1), { nowMs: T0 + 1 })) }));
      // s00 is taken over once its lease ran out; w1's next commit of it is fenced, and the
      // create reuses a key: the thread writes none of this batch, the store writes all of it.
      const [stale, ...rest] = claimed;
      if (stale === undefined) throw new Error("claim failed");
      await claim(store, "w2", T0 + 1 + LEASE_MS + 1, [stale.record.state.id], 1);
      const afterStep = (c: (typeof claimed)[number]): SagaState => stepSucceeded(c.record.state, T0 + 1).state;
      answers.push(
        await store.writeBatch({
          creates: [newSaga("again", { key: "used" })],
          commits: [stale, ...rest].map((c) => commitOf(c, sagaCompleted(afterStep(c), T0 + 2), { nowMs: T0 + 2, lease: "release" })),
        }),
      );
      const held = await Promise.all([...ids, "keyed", "again"].map(async (id) => ({ record: await store.getInstance(id), history: await store.getHistory(id) })));
      return { answers, held, counts: await store.countByStatus(), next: await store.nextWakeAtMs([ORDER]) };
    };
    const plain = await openSqliteStore({ path: join(dir, "plain.db"), writerThread: false });
    // On by default, for group commits of 16 items or more (these have 20 or 21).
    const threaded = await openSqliteStore({ path: join(dir, "threaded.db") });
    try {
      const expected = await run(plain);
      expect(await run(threaded)).toEqual(expected);
      expect(plain.writerThread).toBeNull();
      // Two batches in flight, of at most 256 items, for the thread; the committer's own limits without it.
      expect([threaded.concurrentWrites, threaded.maxBatchSize, plain.concurrentWrites, plain.maxBatchSize]).toEqual([2, 256, undefined, undefined]);
      expect(threaded.writerThread).toEqual({ batches: 2, fallbacks: 1, running: true, failure: null });
      // The thread's batches count as one transaction each, with their statements.
      expect(threaded.stats.commits).toBe(plain.stats.commits);
    } finally {
      await plain.close();
      await threaded.close();
    }
    expect(threaded.writerThread).toMatchObject({ running: false });
  });

  it("reports a batch its writer thread took as not durable when the thread fails, and writes later batches itself", async () => {
    const store = await openSqliteStore({ path, writerThread: { minBatch: 1 } });
    await create(store, "before");
    // The thread opens the file by name; gone, it fails to start, while the store keeps its open file.
    rmSync(path);
    const first = await rejectionOf(store.writeBatch({ creates: [newSaga("lost-or-not")], commits: [] }));
    expect(first).toBeInstanceOf(StoreUnavailableError);
    expect(String(first)).toMatch(/writer thread .*may or may not have committed/);
    expect(store.writerThread?.running).toBe(false);
    expect(store.writerThread?.failure).toMatch(/unable to open|does not exist|no such file/i);
    const later = await store.writeBatch({ creates: [newSaga("after")], commits: [] });
    expect(later.creates.map((outcome) => outcome.ok && outcome.result.created)).toEqual([true]);
    expect(await store.getInstance("after")).not.toBeNull();
    expect(store.writerThread?.batches).toBe(0);
    await store.close();
  });

  it("maps an unknown list cursor to InvalidArgumentError rather than a driver error", async () => {
    const store = await openSqliteStore({ path });
    await expectInvalidArgument(store.listInstances({ limit: 5, cursor: Buffer.from("12:").toString("base64url") }), "cursor");
    await store.close();
  });
});

describe("SqliteStore shared by two processes", () => {
  const script = fileURLToPath(new URL("./support/create-race.ts", import.meta.url));

  // Regression: switching a new file to WAL can fail with SQLITE_BUSY at once, without waiting
  // for busy_timeout, when another process opens the same new file at the same moment.
  it("opens a new file from four processes at once, every one of them", async () => {
    const opener = fileURLToPath(new URL("./support/open-store.ts", import.meta.url));
    const raceDir = tempDir();
    // The race is narrow (about 1 open in 30 failed before the fix), so the rounds make a miss likely.
    for (let round = 0; round < 8; round++) {
      const file = join(raceDir, `open-race-${round}.db`);
      const codes = await Promise.all(
        Array.from({ length: 4 }, () => {
          const child = spawn(process.execPath, ["--import", "tsx", opener, file], { stdio: ["ignore", "ignore", "pipe"] });
          let stderr = "";
          child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
          return new Promise<string>((resolve) => child.once("close", (code) => resolve(code === 0 ? "ok" : `exit ${String(code)}: ${stderr}`)));
        }),
      );
      expect(codes).toEqual(["ok", "ok", "ok", "ok"]);
    }
  }, 60_000);

  it("lets exactly one of two racing processes save each name@version; the other is told of the winner's", async () => {
    const racer = fileURLToPath(new URL("./support/definition-race.ts", import.meta.url));
    const path = join(tempDir(), "definitions.db");
    const count = 40;
    const answers = await raceTwoProcesses<{ version: number; saved: boolean; reason: string | null; keptHash: string; ownHash: string }>(racer, path, count);

    const store = await openSqliteStore({ path, mustExist: true });
    try {
      for (let version = 1; version <= count; version++) {
        const forVersion = answers.filter((a) => a.version === version);
        expect(forVersion).toHaveLength(2);
        const winner = forVersion.find((a) => a.saved);
        const loser = forVersion.find((a) => !a.saved);
        expect(loser).toMatchObject({ reason: "conflict", keptHash: winner?.ownHash });
        expect((await store.getDefinition("trip", version))?.hash).toBe(winner?.ownHash);
      }
      expect(await store.listDefinitions()).toHaveLength(count);
    } finally {
      await store.close();
    }
  });

  it("lets exactly one of two racing processes create each idempotency key", async () => {
    const path = join(tempDir(), "race.db");
    const count = 60;
    const answers = await raceTwoProcesses<{ key: string; created: boolean; id: string }>(script, path, count);

    for (let i = 0; i < count; i++) {
      const forKey = answers.filter((a) => a.key === `race-${i}`);
      expect(forKey).toHaveLength(2);
      expect(forKey.filter((a) => a.created)).toHaveLength(1);
      expect(new Set(forKey.map((a) => a.id)).size).toBe(1);
    }
    const store = await openSqliteStore({ path, mustExist: true });
    expect((await store.countByStatus()).running).toBe(count);
    await store.close();
  });
});

/**
 * Runs `script` in two processes on one database file, p1 going through its items in ascending
 * order and p2 in descending, released together once both are ready; returns both processes'
 * answers (the JSON array each prints after its "ready" line).
 */
async function raceTwoProcesses<T>(script: string, path: string, count: number): Promise<T[]> {
  const children = [
    ["p1", "asc"],
    ["p2", "desc"],
  ].map(([worker, order]) =>
    spawn(process.execPath, ["--import", "tsx", script, path, String(worker), String(count), String(order)], { stdio: ["pipe", "pipe", "inherit"] }),
  );
  const outputs = children.map((child) => {
    let text = "";
    child.stdout.on("data", (chunk: Buffer) => (text += chunk.toString()));
    const ready = new Promise<void>((resolve) => child.stdout.on("data", () => text.includes("ready") && resolve()));
    const done = new Promise<string>((resolve, reject) => child.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`race child exited with ${code}`)))));
    return { ready, done };
  });
  await Promise.all(outputs.map((o) => o.ready));
  for (const child of children) child.stdin.end("go\n");
  return (await Promise.all(outputs.map((o) => o.done))).flatMap((text) => JSON.parse(text.slice(text.indexOf("\n") + 1)) as T[]);
}
