import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError, SchemaTooNewError } from "../../src/errors.js";
import { LATEST_SCHEMA_VERSION, openPostgresStore, PostgresStore } from "../../src/store/postgres/index.js";
import { commitColumns } from "../../src/store/postgres/commit-batch.js";
import { MIGRATIONS } from "../../src/store/postgres/migrations.js";
import { createQueries } from "../../src/store/postgres/queries.js";
import { TextBlob } from "../../src/store/postgres/text-blob.js";
import { stateToJson } from "../../src/store/state-json.js";
import type { SagaState } from "../../src/domain/state.js";
import { createTestSchema, withClient, type TestSchema } from "../support/postgres.js";
import { describeStoreConformance } from "./conformance.js";
import { definitionOf, tripDocument } from "./conformance-definitions.js";
import { cancel, claim, commitOf, create, LEASE_MS, newSaga, ORDER, sagaCompleted, stepSucceeded, T0 } from "./fixtures.js";

/** Awaits a promise that must reject, and returns the reason. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error("expected a rejection, but the call succeeded"),
    (reason: unknown) => reason,
  );
}

// One schema for the conformance suite, emptied before each test: migrating a fresh schema per
// test would cost more than the tests themselves.
const conformance: TestSchema = await createTestSchema("conformance");
let admin: pg.Pool | undefined;
beforeAll(() => {
  admin = new pg.Pool({ connectionString: conformance.url, max: 1 });
  admin.on("error", () => {});
});
afterAll(async () => {
  await admin?.end();
  await conformance.drop();
});

describeStoreConformance("PostgresStore", async () => {
  const store = await openPostgresStore({ connectionString: conformance.url, schema: conformance.schema, poolSize: 4 });
  const s = `"${conformance.schema}"`;
  await admin?.query(`TRUNCATE ${s}.saga_history, ${s}.saga_inbox, ${s}.saga_instances, ${s}.saga_definitions`);
  return { store, cleanup: () => store.close() };
});

type StoreOptions = { poolSize?: number; applicationName?: string };

/** Opens stores on fresh schemas (`open`) or on a schema already open (`another`); closes and drops them all at the end. */
function useSchemas(): { open(prefix: string, options?: StoreOptions): Promise<PostgresStore>; another(store: PostgresStore, options?: StoreOptions): Promise<PostgresStore> } {
  const stores: PostgresStore[] = [];
  const schemas: TestSchema[] = [];
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await Promise.all(schemas.map((schema) => schema.drop()));
  });
  const openOn = async (schema: string, options: StoreOptions): Promise<PostgresStore> => {
    const store = await openPostgresStore({ connectionString: conformance.url, schema, ...options });
    stores.push(store);
    return store;
  };
  return {
    async open(prefix, options = {}) {
      const schema = await createTestSchema(prefix);
      schemas.push(schema);
      return openOn(schema.schema, options);
    },
    another: (store, options = {}) => openOn(store.schema, options),
  };
}

describe("PostgresStore schema and migrations", () => {
  const schemas: TestSchema[] = [];
  const fresh = async (prefix: string): Promise<TestSchema> => {
    const schema = await createTestSchema(prefix);
    schemas.push(schema);
    return schema;
  };
  afterAll(async () => {
    await Promise.all(schemas.map((schema) => schema.drop()));
  });
  const ledger = (schema: TestSchema): Promise<{ version: number }[]> =>
    withClient(schema.url, async (client) => (await client.query<{ version: number }>(`SELECT version FROM "${schema.schema}".sagaflow_migrations ORDER BY version`)).rows);

  it("migrates a new schema once when four stores start on it at once, and init again is harmless", async () => {
    const schema = await fresh("migrate");
    const stores = await Promise.all(
      Array.from({ length: 4 }, () => openPostgresStore({ connectionString: schema.url, schema: schema.schema, poolSize: 1 })),
    );
    try {
      await Promise.all(stores.map((store) => store.init()));
      expect(await ledger(schema)).toEqual(Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
      await create(stores[0] as PostgresStore, "a");
      expect(await stores[3]?.getInstance("a")).not.toBeNull();
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it("upgrades a schema written at version 1 without losing its sagas, history or inbox", async () => {
    const schema = await fresh("upgrade_v1");
    const v1 = MIGRATIONS.find((m) => m.version === 1);
    if (v1 === undefined) throw new Error("migration 1 is missing");
    const s = `"${schema.schema}"`;
    const { state, history } = newSaga("old");
    await withClient(schema.url, async (client) => {
      await client.query(`CREATE SCHEMA ${s}`);
      await client.query(`CREATE TABLE ${s}.sagaflow_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)`);
      await client.query(v1.sql(s));
      await client.query(`INSERT INTO ${s}.sagaflow_migrations VALUES (1, $1, 0)`, [v1.name]);
      await client.query(
        `INSERT INTO ${s}.saga_instances (id, definition_name, definition_version, status, state_json, wake_at_ms, epoch, inbox_seq,
           history_count, created_at_ms, updated_at_ms) VALUES ('old', $1, $2, 'running', $3, $4, 0, 1, $5, $4, $4)`,
        [state.definitionName, state.definitionVersion, JSON.stringify(state), T0, history.length],
      );
      for (const [index, entry] of history.entries()) {
        await client.query(`INSERT INTO ${s}.saga_events (saga_id, seq, type, at_ms, entry_json) VALUES ('old', $1, $2, $3, $4)`, [
          index + 1,
          entry.type,
          entry.atMs,
          JSON.stringify(entry),
        ]);
      }
      await client.query(`INSERT INTO ${s}.saga_inbox (saga_id, seq, event_json, received_at_ms) VALUES ('old', 1, $1, $2)`, [JSON.stringify(cancel()), T0]);
    });

    const store = await openPostgresStore({ connectionString: schema.url, schema: schema.schema, poolSize: 2 });
    try {
      expect((await store.getInstance("old"))?.state).toEqual(state);
      // Migration 3 carried every entry over, whole and with its number.
      expect(await store.getHistory("old")).toEqual(history.map((entry, index) => ({ ...entry, seq: index + 1 })));
      const [claimed] = await claim(store, "w1", T0, ["old"]);
      expect(claimed?.inbox).toEqual([{ seq: 1, event: cancel(), receivedAtMs: T0 }]);
    } finally {
      await store.close();
    }
    const { versions, foreignKeys } = await withClient(schema.url, async (client) => ({
      versions: (await client.query<{ version: number }>(`SELECT version FROM ${s}.sagaflow_migrations ORDER BY version`)).rows.map((r) => r.version),
      foreignKeys: (
        await client.query<{ n: string }>(
          "SELECT count(*) AS n FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = $1 AND c.contype = 'f'",
          [schema.schema],
        )
      ).rows[0]?.n,
    }));
    expect(versions).toEqual(Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => i + 1));
    expect(foreignKeys).toBe("0");
  });

  it("upgrades a schema written at version 3 to saved definitions without losing its sagas, history or inbox", async () => {
    const schema = await fresh("upgrade_v3");
    const s = `"${schema.schema}"`;
    const { state, history } = newSaga("old");
    await withClient(schema.url, async (client) => {
      await client.query(`CREATE SCHEMA ${s}`);
      await client.query(`CREATE TABLE ${s}.sagaflow_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms BIGINT NOT NULL)`);
      for (const migration of MIGRATIONS.filter((m) => m.version <= 3)) {
        await client.query(migration.sql(s));
        await client.query(`INSERT INTO ${s}.sagaflow_migrations VALUES ($1, $2, 0)`, [migration.version, migration.name]);
      }
      await client.query(
        `INSERT INTO ${s}.saga_instances (id, definition_name, definition_version, status, state_json, wake_at_ms, epoch, inbox_seq,
           history_count, created_at_ms, updated_at_ms) VALUES ('old', $1, $2, 'running', $3, $4, 0, 1, $5, $4, $4)`,
        [state.definitionName, state.definitionVersion, JSON.stringify(state), T0, history.length],
      );
      await client.query(`INSERT INTO ${s}.saga_history (saga_id, seq, entry_count, at_ms, entries_json) VALUES ('old', 1, $1, $2, $3)`, [
        history.length,
        T0,
        JSON.stringify(history),
      ]);
      await client.query(`INSERT INTO ${s}.saga_inbox (saga_id, seq, event_json, received_at_ms) VALUES ('old', 1, $1, $2)`, [JSON.stringify(cancel()), T0]);
    });

    const store = await openPostgresStore({ connectionString: schema.url, schema: schema.schema, poolSize: 2 });
    try {
      expect((await store.getInstance("old"))?.state).toEqual(state);
      expect(await store.getHistory("old")).toEqual(history.map((entry, index) => ({ ...entry, seq: index + 1 })));
      const [claimed] = await claim(store, "w1", T0, ["old"]);
      expect(claimed?.inbox).toEqual([{ seq: 1, event: cancel(), receivedAtMs: T0 }]);
      expect(await store.listDefinitions()).toEqual([]);
      expect(await store.saveDefinition(definitionOf("trip", 1), T0)).toMatchObject({ saved: true });
      expect(await store.getDefinition("trip", 1)).toMatchObject({ name: "trip", version: 1, createdAtMs: T0 });
    } finally {
      await store.close();
    }
    expect(await ledger(schema)).toEqual(Array.from({ length: LATEST_SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
    expect(LATEST_SCHEMA_VERSION).toBeGreaterThanOrEqual(4);
  });

  it("refuses a schema migrated by a newer Sagaflow with SchemaTooNewError, changing nothing", async () => {
    const schema = await fresh("too_new");
    await (await openPostgresStore({ connectionString: schema.url, schema: schema.schema })).close();
    await withClient(schema.url, (client) =>
      client.query(`INSERT INTO "${schema.schema}".sagaflow_migrations (version, name, applied_at_ms) VALUES ($1, 'from the future', 0)`, [
        LATEST_SCHEMA_VERSION + 1,
      ]),
    );
    const before = await ledger(schema);

    const error = await rejectionOf(openPostgresStore({ connectionString: schema.url, schema: schema.schema }));

    expect(error).toBeInstanceOf(SchemaTooNewError);
    expect(String(error)).toContain(`version ${LATEST_SCHEMA_VERSION + 1}`);
    expect(await ledger(schema)).toEqual(before);
  });

  it("keeps two schemas of one database apart", async () => {
    const [one, two] = [await fresh("first"), await fresh("second")];
    const first = await openPostgresStore({ connectionString: one.url, schema: one.schema });
    const second = await openPostgresStore({ connectionString: two.url, schema: two.schema });
    try {
      await create(first, "a");
      expect(await second.getInstance("a")).toBeNull();
      expect(await second.claimDue({ workerId: "w", nowMs: T0, leaseMs: LEASE_MS, limit: 10, definitions: [ORDER] })).toEqual([]);
      await create(second, "a");
      await claim(second, "w2", T0, ["a"]);
      expect(await first.getInstance("a")).toMatchObject({ epoch: 0, leaseOwner: null });
      expect(first.channel).not.toBe(second.channel);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('uses the schema "sagaflow" by default, and refuses a schema that is not a plain identifier', async () => {
    const url = conformance.url;
    const unopened = new PostgresStore({ connectionString: url });
    expect(unopened.schema).toBe("sagaflow");
    expect(unopened.channel).toBe("sagaflow_sagaflow");
    await unopened.close();

    for (const schema of ["Orders", "1st", "my-schema", 'x"; DROP TABLE t; --', "", "a".repeat(64), "sch ema"]) {
      expect(() => new PostgresStore({ connectionString: url, schema }), schema).toThrow(InvalidArgumentError);
      expect(await rejectionOf(openPostgresStore({ connectionString: url, schema }))).toMatchObject({ field: "schema", code: "INVALID_ARGUMENT" });
    }
    expect(() => new PostgresStore({ connectionString: url, poolSize: 0 })).toThrow(/poolSize/);
    expect(() => new PostgresStore({ connectionString: "" })).toThrow(/connectionString/);
    // The longest allowed name still gets a channel PostgreSQL accepts (< 64 bytes), distinct per schema.
    const long = new PostgresStore({ connectionString: url, schema: "a".repeat(63) });
    const longer = new PostgresStore({ connectionString: url, schema: `${"a".repeat(62)}b` });
    expect(long.channel.length).toBeLessThan(64);
    expect(long.channel).not.toBe(longer.channel);
    await Promise.all([long.close(), longer.close()]);
  });
});

describe("PostgresStore idempotency key index", () => {
  const schemas = useSchemas();

  it("indexes idempotency keys only where there is one; lookups by key use that index, and one saga per key still holds", async () => {
    const store = await schemas.open("key_index");
    for (let i = 0; i < 5; i++) await create(store, `keyless-${i}`);
    const first = await store.createInstance(newSaga("keyed-1", { key: "order-7" }));
    const again = await store.createInstance(newSaga("keyed-2", { key: "order-7" }));
    expect([first.created, again.created, again.record.state.id]).toEqual([true, false, "keyed-1"]);
    expect((await store.findByIdempotencyKey("order-7"))?.state.id).toBe("keyed-1");
    const { definition, plan } = await withClient(conformance.url, async (client) => {
      const index = await client.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = 'saga_instances_idempotency_key'`, [
        store.schema,
      ]);
      // A handful of rows would be read by a sequential scan anyway; this asks whether the index could serve.
      await client.query("SET enable_seqscan = off");
      const explained = await client.query<{ "QUERY PLAN": string }>(`EXPLAIN SELECT id FROM "${store.schema}".saga_instances WHERE idempotency_key = 'order-7'`);
      return { definition: index.rows[0]?.indexdef ?? "", plan: explained.rows.map((row) => row["QUERY PLAN"]).join("\n") };
    });
    expect(definition).toMatch(/CREATE UNIQUE INDEX .* WHERE \(idempotency_key IS NOT NULL\)/);
    expect(plan).toContain("saga_instances_idempotency_key");
  });
});

describe("PostgresStore under concurrency", () => {
  const schemas = useSchemas();

  it("creates exactly one instance when 20 connections race to create with one idempotency key", async () => {
    const application = `sagaflow-storm-${process.pid}`;
    const first = await schemas.open("storm", { poolSize: 10, applicationName: application });
    const stores = [first, await schemas.another(first, { poolSize: 10, applicationName: application })];
    for (let round = 0; round < 3; round++) {
      const key = `storm-key-${round}`;
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => (stores[i % 2] as PostgresStore).createInstance(newSaga(`storm-${round}-${i}`, { key }))),
      );
      expect(results.filter((result) => result.created)).toHaveLength(1);
      expect(new Set(results.map((result) => result.record.state.id)).size).toBe(1);
      const winner = results.find((result) => result.created)?.record.state.id ?? "";
      expect(await stores[0]?.getHistory(winner)).toHaveLength(1);
    }
    expect((await stores[0]?.countByStatus())?.running).toBe(3);
    const connections = await withClient(conformance.url, async (client) => {
      const result = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1", [application]);
      return result.rows[0]?.n ?? 0;
    });
    expect(connections).toBeGreaterThanOrEqual(10);
  });

  it("never hands one instance to two workers claiming at once (SKIP LOCKED)", async () => {
    const a = await schemas.open("skip_locked", { poolSize: 4 });
    const b = await schemas.another(a, { poolSize: 4 });
    const ids = Array.from({ length: 60 }, (_, i) => `s-${String(i).padStart(2, "0")}`);
    for (const id of ids) await create(a, id, { wakeAtMs: T0 + (id.charCodeAt(3) % 5) });
    const claimedBy = new Map<string, string[]>();
    for (let round = 0; round < 20 && claimedBy.size < ids.length; round++) {
      const claims = await Promise.all(
        [a, b, a, b, a, b, a, b].map((store, i) =>
          store.claimDue({ workerId: `w${i % 2}`, nowMs: T0 + 10, leaseMs: LEASE_MS, limit: 4, definitions: [ORDER] }),
        ),
      );
      for (const claimed of claims.flat()) {
        claimedBy.set(claimed.record.state.id, [...(claimedBy.get(claimed.record.state.id) ?? []), claimed.record.leaseOwner ?? ""]);
      }
    }
    expect([...claimedBy.keys()].sort()).toEqual(ids);
    expect([...claimedBy.values()].every((owners) => owners.length === 1)).toBe(true);
    expect(new Set([...claimedBy.values()].flat())).toEqual(new Set(["w0", "w1"]));
    for (const id of ids) expect((await a.getInstance(id))?.epoch).toBe(1);
  });
});

describe("PostgresStore saved definitions under concurrency", () => {
  const schemas = useSchemas();

  it("saves exactly one of 10 documents racing for one name@version from 10 connections; the nine others get conflict and the winner", async () => {
    const first = await schemas.open("definition_race", { poolSize: 1 });
    const stores = [first, ...(await Promise.all(Array.from({ length: 9 }, () => schemas.another(first, { poolSize: 1 }))))];
    for (let version = 1; version <= 5; version++) {
      const candidates = stores.map((_, i) => definitionOf("trip", version, tripDocument(`racer-${i}`)));

      const outcomes = await Promise.all(stores.map((store, i) => store.saveDefinition(candidates[i] as (typeof candidates)[number], T0 + i)));

      const winners = outcomes.flatMap((outcome, i) => (outcome.saved ? [i] : []));
      expect(winners).toHaveLength(1);
      const winner = winners[0] as number;
      const kept = { ...candidates[winner], createdAtMs: T0 + winner };
      expect(outcomes.filter((outcome) => !outcome.saved && outcome.reason === "conflict")).toHaveLength(9);
      for (const outcome of outcomes) expect(outcome.definition).toEqual(kept);
      for (const store of stores) expect(await store.getDefinition("trip", version)).toEqual(kept);
    }
    expect(await first.listDefinitions()).toHaveLength(5);
  });

  it("reports as a conflict the insert it waited for, once that commits, and saves when it rolls back", async () => {
    const application = `sagaflow-definition-wait-${process.pid}`;
    const store = await schemas.open("definition_wait", { poolSize: 1, applicationName: application });
    const s = `"${store.schema}"`;
    const theirs = definitionOf("trip", 1, tripDocument("theirs"));
    const ours = definitionOf("trip", 1, tripDocument("ours"));
    // Until the store's insert waits on the other transaction's row lock.
    const untilWaiting = (client: pg.Client): Promise<void> =>
      (async () => {
        for (let attempt = 0; attempt < 200; attempt++) {
          const { rows } = await client.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
            [application],
          );
          if (rows[0]?.n === 1) return;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        throw new Error("the store's insert never waited for the open transaction");
      })();

    for (const end of ["COMMIT", "ROLLBACK"] as const) {
      const version = end === "COMMIT" ? 1 : 2;
      const outcome = await withClient(conformance.url, (other) =>
        withClient(conformance.url, async (watcher) => {
          await other.query("BEGIN");
          await other.query(`INSERT INTO ${s}.saga_definitions (name, version, hash, document_json, created_at_ms) VALUES ($1, $2, $3, $4, $5)`, [
            theirs.name,
            version,
            theirs.hash,
            JSON.stringify(theirs.document),
            T0,
          ]);
          const saving = store.saveDefinition({ ...ours, version }, T0 + 1);
          // Observed when returned; this keeps a failure while the transaction is still open from being reported unhandled.
          saving.catch(() => undefined);
          try {
            await untilWaiting(watcher);
          } finally {
            await other.query(end);
          }
          return saving;
        }),
      );

      const kept = end === "COMMIT" ? { ...theirs, version, createdAtMs: T0 } : { ...ours, version, createdAtMs: T0 + 1 };
      expect(outcome).toEqual(end === "COMMIT" ? { saved: false, reason: "conflict", definition: kept } : { saved: true, definition: kept });
      expect(await store.getDefinition("trip", version)).toEqual(kept);
    }
  });
});

describe("PostgresStore group commit", () => {
  const schemas = useSchemas();

  it("commits a batch in one transaction of one statement, whatever its size", async () => {
    const store = await schemas.open("group_commit");
    const ids = Array.from({ length: 25 }, (_, i) => `g-${i}`);
    for (const id of ids) await create(store, id);
    const claimed = await claim(store, "w1", T0, [...ids].sort(), 25);
    const statementsFor = async (batch: typeof claimed, atMs: number): Promise<{ commits: number; statements: number }> => {
      const before = store.stats;
      const outcomes = await store.commitTransitions(batch.map((c) => commitOf(c, stepSucceeded(c.record.state, atMs), { nowMs: atMs })));
      expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
      return { commits: store.stats.commits - before.commits, statements: store.stats.statements - before.statements };
    };

    expect(await statementsFor(claimed.slice(0, 1), T0 + 1)).toEqual({ commits: 1, statements: 1 });
    expect(await statementsFor(claimed.slice(1), T0 + 1)).toEqual({ commits: 1, statements: 1 });
    expect(await store.getHistory("g-7")).toMatchObject([{ seq: 1 }, { seq: 2, workerId: "w1", epoch: 1 }, { seq: 3 }]);
  });

  it("keeps finding rows by index while a new store's tables grow from empty (no plan made for the empty tables sticks)", async () => {
    const store = await schemas.open("plan_growth", { poolSize: 1, applicationName: "sagaflow-plan-growth" });
    const perBatch = 4;
    const batches = 1500;
    for (let b = 0; b < batches; b++) {
      const sagas = Array.from({ length: perBatch }, (_, i) => newSaga(`p-${b}-${i}`));
      const { creates } = await store.writeBatch({
        creates: sagas.map(({ state, history }) => ({ state, history, lease: { owner: "w1", expiresAtMs: T0 + LEASE_MS } })),
        commits: [],
      });
      const commits = creates.map((created, i) => {
        const saga = sagas[i];
        if (created.ok !== true || saga === undefined) throw new Error(`create ${b}-${i} failed`);
        return commitOf({ record: created.result.record, inbox: [] }, stepSucceeded(saga.state, T0 + 1), { nowMs: T0 + 1 });
      });
      expect(await store.commitTransitions(commits)).toEqual(commits.map(() => ({ ok: true })));
    }
    await store.close();
    // A backend publishes its table counters when it exits, so wait until they arrive.
    const seqScans = await withClient(conformance.url, async (client) => {
      for (let attempt = 0; attempt < 100; attempt++) {
        const { rows } = await client.query<{ inserted: string; seq_scan: string }>(
          "SELECT n_tup_ins AS inserted, seq_scan FROM pg_stat_user_tables WHERE schemaname = $1 AND relname = 'saga_instances'",
          [store.schema],
        );
        const row = rows[0];
        if (row !== undefined && Number(row.inserted) >= perBatch * batches) return Number(row.seq_scan);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error("the server never published the store's table counters");
    });
    // A plan made while the table was nearly empty scans it whole for every write (one or two
    // scans per statement) for as long as it is kept; the store prepares its statements afresh as
    // they double in number, so only its early writes scan.
    expect(seqScans).toBeLessThan((2 * batches) / 4);
  }, 60_000);

  it("writes a batch of transitions with work linear in its size (no join compares every pair)", async () => {
    const store = await schemas.open("linear_batch");
    const size = 128;
    const ids = Array.from({ length: size }, (_, i) => `l-${String(i).padStart(3, "0")}`);
    const { creates } = await store.writeBatch({ creates: ids.map((id) => newSaga(id)), commits: [] });
    expect(creates.every((outcome) => outcome.ok)).toBe(true);
    const claimed = await claim(store, "w1", T0, ids, size);
    const commits = claimed.map((c) => commitOf(c, stepSucceeded(c.record.state, T0 + 1), { nowMs: T0 + 1 }));
    // Plans depend on the table's size: the quadratic one this guards against appeared with tens of thousands of rows.
    await withClient(conformance.url, (client) =>
      client.query(
        `INSERT INTO "${store.schema}".saga_instances (id, definition_name, definition_version, status, state_json, epoch, history_count, created_at_ms, updated_at_ms, ended_at_ms)
         SELECT 'filler-' || n, 'order', 1, 'completed', '{}', 1, 0, ${T0}, ${T0}, ${T0} FROM generate_series(1, 30000) AS n`,
      ),
    );
    // The statement the store sends for this batch, run under EXPLAIN ANALYZE and rolled back.
    const blob = new TextBlob();
    const columns = commitColumns(commits, blob);
    const sql = createQueries(store.schema).writeBatch({ creates: false, commits: true, single: false });
    const plan = await withClient(conformance.url, async (client) => {
      await client.query("BEGIN");
      try {
        // The store keeps one prepared statement per shape, and its plan turns generic after a few executions.
        await client.query("SET LOCAL plan_cache_mode = force_generic_plan");
        await client.query(`PREPARE linear_batch AS ${sql}`);
        // EXPLAIN EXECUTE takes no bind parameters, so the values go as literals.
        const element = (value: unknown): string => {
          if (value === null) return "NULL";
          if (typeof value !== "string" && typeof value !== "number") throw new Error(`unexpected column value ${typeof value}`);
          return `"${String(value).replace(/["\\]/g, "\\$&")}"`;
        };
        const literal = (values: unknown[]): string => client.escapeLiteral(`{${values.map(element).join(",")}}`);
        const parameters = [`'\\x${blob.toBuffer().toString("hex")}'`, "'unused'", ...columns.map(literal)].join(", ");
        const { rows } = await client.query<{ "QUERY PLAN": unknown }>(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE linear_batch(${parameters})`);
        return rows[0]?.["QUERY PLAN"];
      } finally {
        await client.query("ROLLBACK");
      }
    });
    const removedByJoins = (node: unknown): number => {
      if (typeof node !== "object" || node === null) return 0;
      const own = Number((node as Record<string, unknown>)["Rows Removed by Join Filter"] ?? 0);
      return own + Object.values(node).reduce<number>((sum, child) => sum + removedByJoins(child), 0);
    };
    // Every transition is fenced once against its own row; a join over all pairs would discard ~size².
    expect(removedByJoins(plan)).toBeLessThanOrEqual(2 * size);
    // ...and it did write them all (the result lists every transition written).
    expect((plan as [{ Plan: { "Actual Rows": number } }])[0].Plan["Actual Rows"]).toBe(size);
  });

  it("explains refusals with one read, records late writes with one more, reads missed messages with one more, and still writes the good items", async () => {
    const store = await schemas.open("refusals");
    for (const id of ["a", "b", "c"]) await create(store, id);
    const [a, b, c] = await claim(store, "w1", T0, ["a", "b", "c"]);
    if (a === undefined || b === undefined || c === undefined) throw new Error("claim failed");
    await store.deliver("c", cancel(), T0 + 1);
    const before = store.stats;

    const outcomes = await store.commitTransitions([
      commitOf(a, stepSucceeded(a.record.state, T0 + 2), { nowMs: T0 + 2 }),
      commitOf(b, stepSucceeded(b.record.state, T0 + 2), { nowMs: T0 + 2, workerId: "intruder" }),
      commitOf(c, stepSucceeded(c.record.state, T0 + 2), { nowMs: T0 + 2 }),
    ]);

    expect(outcomes).toEqual([
      { ok: true },
      { ok: false, reason: "fenced" },
      { ok: false, reason: "inbox_changed", inbox: [{ seq: 1, event: cancel(), receivedAtMs: T0 + 1 }] },
    ]);
    expect(store.stats.statements - before.statements).toBe(4);
    expect(await store.getHistory("a")).toHaveLength(3);
    expect((await store.getHistory("b")).map((e) => [e.type, e.workerId])).toEqual([
      ["saga_started", undefined],
      ["write_rejected", "intruder"],
    ]);
    expect(await store.getHistory("c")).toHaveLength(1);
  });

  it("deletes inbox messages once a commit applied them", async () => {
    const store = await schemas.open("inbox_cleanup");
    await create(store, "a");
    for (const reason of ["one", "two"]) await store.deliver("a", cancel(reason), T0);
    const [a] = await claim(store, "w1", T0, ["a"]);
    if (a === undefined) throw new Error("claim failed");
    const pending = (): Promise<number[]> =>
      withClient(conformance.url, async (client) =>
        (await client.query<{ seq: number }>(`SELECT seq FROM "${store.schema}".saga_inbox WHERE saga_id = 'a' ORDER BY seq`)).rows.map((r) => r.seq),
      );
    expect(await pending()).toEqual([1, 2]);

    const outcome = await store.commitTransitions([commitOf(a, stepSucceeded(a.record.state, T0 + 1), { nowMs: T0 + 1, inboxSeq: 2 })]);

    expect(outcome).toEqual([{ ok: true }]);
    expect(await pending()).toEqual([]);
    await store.deliver("a", cancel("three"), T0 + 2);
    expect(await pending()).toEqual([3]);
    expect(await store.getInstance("a")).toMatchObject({ inboxSeq: 3, inboxAppliedSeq: 2 });
  });

  it("stores states without what is still at its initial value, created, committed one by one and in batches, and reads them back whole", async () => {
    const store = await schemas.open("state_json");
    await create(store, "a");
    await create(store, "b");
    const stored = (id: string): Promise<string> =>
      withClient(conformance.url, async (client) => (await client.query<{ state_json: string }>(`SELECT state_json FROM "${store.schema}".saga_instances WHERE id = $1`, [id])).rows[0]?.state_json ?? "");
    const created = await store.getInstance("a");
    expect(await stored("a")).toBe(stateToJson(created?.state as SagaState));
    expect(await stored("a")).not.toContain('"failures":0');

    const [a, b] = await claim(store, "w1", T0, ["a", "b"]);
    if (a === undefined || b === undefined) throw new Error("claim failed");
    // One commit alone (its own statement shape), then a batch of two.
    const firstA = stepSucceeded(a.record.state, T0 + 1);
    expect(await store.commitTransitions([commitOf(a, firstA, { nowMs: T0 + 1 })])).toEqual([{ ok: true }]);
    const nextA = stepSucceeded(firstA.state, T0 + 2);
    const nextB = stepSucceeded(b.record.state, T0 + 2);
    expect(await store.commitTransitions([commitOf(a, nextA, { nowMs: T0 + 2 }), commitOf(b, nextB, { nowMs: T0 + 2 })])).toEqual([{ ok: true }, { ok: true }]);
    for (const [id, next] of [["a", nextA], ["b", nextB]] as const) {
      expect(await stored(id)).toBe(stateToJson(next.state));
      expect((await store.getInstance(id))?.state).toStrictEqual(next.state);
    }
    expect((await store.listInstances({ limit: 10 })).items.map((state) => state.steps[0]?.compensation)).toStrictEqual([
      { status: "pending", attempt: 0, failures: 0 },
      { status: "pending", attempt: 0, failures: 0 },
    ]);
  });

  it("applies two transitions of one instance in one batch in order, as separate commits would", async () => {
    const store = await schemas.open("same_instance");
    await create(store, "a");
    const [a] = await claim(store, "w1", T0, ["a"]);
    if (a === undefined) throw new Error("claim failed");
    const first = stepSucceeded(a.record.state, T0 + 1);
    const last = sagaCompleted(first.state, T0 + 2);

    const outcomes = await store.commitTransitions([commitOf(a, first, { nowMs: T0 + 1 }), commitOf(a, last, { nowMs: T0 + 2, lease: "release" })]);

    expect(outcomes).toEqual([{ ok: true }, { ok: true }]);
    expect((await store.getHistory("a")).map((entry) => [entry.seq, entry.type])).toEqual([
      [1, "saga_started"],
      [2, "attempt_started"],
      [3, "attempt_succeeded"],
      [4, "saga_ended"],
    ]);
    expect(await store.getInstance("a")).toMatchObject({ state: last.state, leaseOwner: null });
  });
});
