import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { StoreUnavailableError } from "../../src/errors.js";
import { openPostgresStore, type PostgresStore } from "../../src/store/postgres/index.js";
import { createTestSchema, withClient, type TestSchema } from "../support/postgres.js";
import { claim, commitOf, create, newSaga, sagaCompleted, stepSucceeded, T0, LEASE_MS, cancel } from "./fixtures.js";

// A schema per test: these tests break connections on purpose, and start from known rows.
let schema: TestSchema;
const open: PostgresStore[] = [];
beforeEach(async () => {
  schema = await createTestSchema("connections");
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((store) => store.close()));
  await schema.drop();
});

/** A store on this file's schema, tagged with an application name of its own so tests can find its connections. */
async function openStore(tag: string, poolSize = 4): Promise<PostgresStore> {
  const store = await openPostgresStore({ connectionString: schema.url, schema: schema.schema, poolSize, applicationName: appName(tag) });
  open.push(store);
  return store;
}
const appName = (tag: string): string => `sagaflow-test-${process.pid}-${tag}`;

/** Server process ids of a store's connections; `listening` picks the LISTEN connection, or the others. */
function backends(tag: string, listening: boolean): Promise<number[]> {
  return withClient(schema.url, async (client) => {
    const result = await client.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND (query ILIKE 'LISTEN%') = $2 ORDER BY pid",
      [appName(tag), listening],
    );
    return result.rows.map((row) => row.pid);
  });
}

function terminate(pids: readonly number[]): Promise<void> {
  return withClient(schema.url, async (client) => {
    await client.query("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", [pids]);
  });
}

async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Counts the calls of a subscription's listener. */
function counter(): { listener: () => void; calls: () => number; reach(n: number): Promise<void>; exactly(n: number): Promise<void> } {
  let calls = 0;
  const reach = (n: number): Promise<void> => waitUntil(() => calls >= n, `the listener was called ${n} times (it was called ${calls} times)`);
  return {
    listener: () => void calls++,
    calls: () => calls,
    reach,
    // Notifications reach a connection in commit order, so a stray one sent before the last
    // expected one arrives before it: a short grace period after reaching `n` is enough to see it.
    async exactly(n) {
      await reach(n);
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(calls).toBe(n);
    },
  };
}

describe("PostgresStore notifications", () => {
  it("tells a subscriber about work made due by another store, and stays silent for leased, fenced and rolled-back writes", async () => {
    const [listening, writing] = [await openStore("listening"), await openStore("writing")];
    const heard = counter();
    await listening.subscribe(heard.listener);

    await create(writing, "a");
    await heard.reach(1);

    // None of these makes work due for anyone else, or none of them commits.
    await writing.createInstance({ ...newSaga("b"), lease: { owner: "w1", expiresAtMs: T0 + LEASE_MS } });
    await expect(writing.createInstance(newSaga("a"))).rejects.toMatchObject({ field: "state.id" });
    const [a] = await claim(writing, "w1", T0, ["a"]);
    if (a === undefined) throw new Error("claim failed");
    const release = commitOf(a, stepSucceeded(a.record.state, T0 + 1), { nowMs: T0 + 1, lease: "release" });
    expect(await writing.commitTransitions([{ ...release, workerId: "intruder" }])).toEqual([{ ok: false, reason: "fenced" }]);
    const bogus = { ...commitOf(a, stepSucceeded(a.record.state, T0 + 1)), sagaId: "b", state: { ...a.record.state, id: "b" }, epoch: 1, workerId: "w1", inboxSeq: 5 };
    await expect(writing.commitTransitions([release, bogus])).rejects.toMatchObject({ field: "inboxSeq" });
    expect(await writing.getInstance("a")).toMatchObject({ leaseOwner: "w1" });

    // Notifications arrive in commit order, so a stray one would be counted before this one.
    expect(await writing.deliver("a", cancel(), T0 + 2)).toEqual({ accepted: true, seq: 1 });
    await heard.exactly(2);

    // Releasing a waiting instance notifies; finishing one does not.
    expect(await writing.commitTransitions([{ ...release, inboxSeq: 1 }])).toEqual([{ ok: true }]);
    await heard.reach(3);
    const [again] = await claim(writing, "w2", T0 + 2, ["a"]);
    if (again === undefined) throw new Error("claim failed");
    expect(await writing.releaseLease("w2", { sagaId: "a", epoch: again.record.epoch })).toBe(true);
    await heard.reach(4);
    const [last] = await claim(writing, "w2", T0 + 3, ["a"]);
    if (last === undefined) throw new Error("claim failed");
    await writing.commitTransitions([commitOf(last, sagaCompleted(last.record.state, T0 + 4), { nowMs: T0 + 4, lease: "release" })]);
    await create(writing, "c");
    await heard.exactly(5);
  });

  it("stops calling after unsubscribe and closes the listening connection", async () => {
    const [listening, writing] = [await openStore("unsubscribing"), await openStore("writing-2")];
    const heard = counter();
    const unsubscribe = await listening.subscribe(heard.listener);
    expect(await backends("unsubscribing", true)).toHaveLength(1);

    await unsubscribe();
    await create(writing, "x");
    const control = counter();
    await (await listening.subscribe(control.listener))();
    expect(await backends("unsubscribing", true)).toEqual([]);
    expect(heard.calls()).toBe(0);
  });

  it("keeps a subscription through the loss of its connection, calling the listener once it listens again", async () => {
    const [listening, writing] = [await openStore("reconnecting"), await openStore("writing-3")];
    const heard = counter();
    await listening.subscribe(heard.listener);
    const [before] = await backends("reconnecting", true);
    if (before === undefined) throw new Error("no listening connection");

    await terminate([before]);
    await heard.exactly(1);
    const after = await backends("reconnecting", true);
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before);

    await create(writing, "y");
    await heard.exactly(2);
  });
});

describe("PostgresStore connection loss", () => {
  it("survives an idle pooled connection being terminated, and the next call works", async () => {
    const store = await openStore("idle-loss");
    await create(store, "a");
    const pids = await backends("idle-loss", false);
    expect(pids.length).toBeGreaterThan(0);

    await terminate(pids);
    await waitUntil(() => store.stats.connectionsLost >= pids.length, "the pool noticed the lost connections");

    expect((await store.getInstance("a"))?.state.id).toBe("a");
    await create(store, "b");
  });

  it("fails a group commit whose connection dies mid-transaction as a whole, and the next one goes through", async () => {
    const store = await openStore("busy-loss", 1);
    await create(store, "a");
    const [a] = await claim(store, "w1", T0, ["a"]);
    if (a === undefined) throw new Error("claim failed");
    const change = commitOf(a, stepSucceeded(a.record.state, T0 + 1), { nowMs: T0 + 1 });

    // Hold the row so the commit waits inside its transaction, then kill its connection there.
    const outcome = await withClient(schema.url, async (blocker) => {
      await blocker.query("BEGIN");
      await blocker.query(`SELECT 1 FROM "${schema.schema}".saga_instances WHERE id = 'a' FOR UPDATE`);
      const pending = store.commitTransitions([change]).then(
        () => null,
        (error: unknown) => error,
      );
      await waitUntil(
        async () =>
          withClient(schema.url, async (client) => {
            const result = await client.query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'", [appName("busy-loss")]);
            return result.rows.length === 1;
          }),
        "the commit waits for the row lock",
      );
      await terminate(await backends("busy-loss", false));
      const error = await pending;
      await blocker.query("ROLLBACK");
      return error;
    });

    expect(outcome).toBeInstanceOf(StoreUnavailableError);
    expect((outcome as StoreUnavailableError).cause).toBeInstanceOf(Error);
    expect(await store.getHistory("a")).toHaveLength(1);
    expect(await store.commitTransitions([change])).toEqual([{ ok: true }]);
    expect(await store.getHistory("a")).toHaveLength(3);
  });

  it("ends every connection on close, listener included, and refuses calls afterwards", async () => {
    const store = await openStore("closing");
    await store.subscribe(() => {});
    await create(store, "a");
    expect((await backends("closing", true)).length + (await backends("closing", false)).length).toBeGreaterThanOrEqual(2);

    await store.close();
    await store.close();

    expect([...(await backends("closing", true)), ...(await backends("closing", false))]).toEqual([]);
    await expect(store.getInstance("a")).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.subscribe(() => {})).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
