import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { defineSaga, InvalidArgumentError, Orchestrator, TerminalError, type SagaState } from "../../src/index.js";
import { createServer, PROBLEM_MEDIA_TYPE, type ServerOptions } from "../../src/server/index.js";
import { createMemoryStore } from "../../src/testing/index.js";

/** Holds every step that waits on it until `open()`, so a test can act on a saga mid-step. */
class Gate {
  #open!: () => void;
  readonly opened = new Promise<void>((resolve) => (this.#open = resolve));
  open(): void {
    this.#open();
  }
}

const gate = { current: new Gate() };
const booked: string[] = [];

interface TripInput {
  trip: string;
  failAt?: "charge";
  waitInCharge?: boolean;
}

const trip = defineSaga<TripInput>({
  name: "trip",
  version: 1,
  parseInput: (value) => {
    const input = value as Partial<TripInput> | null;
    if (typeof input?.trip !== "string") throw new InvalidArgumentError("input.trip", "must be a string");
    return input as TripInput;
  },
})
  .step("reserve", {
    action: ({ input }) => {
      booked.push(`reserve:${input.trip}`);
      return { seat: 12 };
    },
    compensate: ({ input }) => void booked.push(`release:${input.trip}`),
  })
  .step("charge", {
    action: async ({ input }) => {
      if (input.waitInCharge === true) await gate.current.opened;
      if (input.failAt === "charge") throw new TerminalError("card declined");
      return { charged: true };
    },
    retry: { maxAttempts: 1 },
  })
  .build();

const tripV2 = defineSaga<{ trip: string }>({ name: "trip", version: 2 })
  .step("reserve", { action: () => ({ seat: 1 }) })
  .build();

const plain = defineSaga<unknown>({ name: "plain", version: 1, parseInput: (value) => {
  if (value === "refuse") throw new Error("no thanks");
  return value;
} })
  .step("only", { action: () => null })
  .build();

const approval = defineSaga<{ amount: number }>({ name: "approval", version: 1 })
  .step("hold", { action: () => ({ held: true }), compensate: () => void booked.push("approval:release") })
  .waitStep("approve")
  .build();

const approvedTrip = defineSaga<null>({ name: "approved-trip", version: 1 })
  .step("book", { action: () => ({ ref: "B1" }) })
  .waitStep("approval", { event: "manager-approved" })
  .build();

/** Whether the refund participant refuses for good; an operator "fixes" it between tests' steps. */
const refund = { broken: true, calls: 0 };
const refundable = defineSaga<null>({ name: "refundable", version: 1 })
  .step("charge", {
    action: () => ({ charged: true }),
    compensate: () => {
      refund.calls++;
      if (refund.broken) throw new TerminalError("refund API is down for maintenance");
    },
  })
  .step("ship", {
    action: () => {
      throw new TerminalError("no courier");
    },
  })
  .build();

let current: { app: FastifyInstance; orchestrator: Orchestrator } | undefined;

async function serve(options: Partial<ServerOptions> = {}): Promise<{ app: FastifyInstance; orchestrator: Orchestrator }> {
  const orchestrator = await Orchestrator.create({ store: createMemoryStore(), definitions: [trip, tripV2, plain, approval, refundable, approvedTrip], workerId: "api-test" });
  const app = await createServer({ orchestrator, ...options });
  current = { app, orchestrator };
  return current;
}

afterEach(async () => {
  gate.current.open();
  gate.current = new Gate();
  if (current !== undefined) {
    await current.app.close();
    await current.orchestrator.close();
    current = undefined;
  }
});

function json<T = Record<string, unknown>>(response: LightMyRequestResponse): T {
  return response.json<T>();
}

function expectProblem(response: LightMyRequestResponse, status: number, code: string, field?: string): Record<string, unknown> {
  expect(response.statusCode, response.body).toBe(status);
  expect(response.headers["content-type"]).toContain(PROBLEM_MEDIA_TYPE);
  const body = json(response);
  expect(body).toMatchObject({ status, code });
  expect(typeof body.detail).toBe("string");
  if (field !== undefined) expect(body.field).toBe(field);
  return body;
}

async function start(app: FastifyInstance, body: unknown): Promise<LightMyRequestResponse> {
  return app.inject({ method: "POST", url: "/api/v1/sagas", payload: body as object });
}

describe("POST /api/v1/sagas", () => {
  it("starts a saga (201, Location) that runs to completion, newest version by default", async () => {
    const { app, orchestrator } = await serve();
    const response = await start(app, { definition: "trip", version: 1, input: { trip: "lisbon" }, id: "trip-1" });
    expect(response.statusCode).toBe(201);
    expect(response.headers.location).toBe("/api/v1/sagas/trip-1");
    expect(json<SagaState>(response)).toMatchObject({ id: "trip-1", definitionName: "trip", definitionVersion: 1, input: { trip: "lisbon" } });
    expect((await orchestrator.waitFor("trip-1")).status).toBe("completed");

    const newest = await start(app, { definition: "trip", input: { trip: "porto" } });
    expect(newest.statusCode).toBe(201);
    expect(json<SagaState>(newest).definitionVersion).toBe(2);
  });

  it("returns the first saga (200) when an idempotency key is used again, and 409 when it started another definition", async () => {
    const { app } = await serve();
    const first = await start(app, { definition: "trip", version: 1, input: { trip: "rome" }, idempotencyKey: "order-7" });
    const again = await start(app, { definition: "trip", version: 1, input: { trip: "rome" }, idempotencyKey: "order-7" });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(200);
    expect(json<SagaState>(again).id).toBe(json<SagaState>(first).id);
    expectProblem(await start(app, { definition: "plain", input: 1, idempotencyKey: "order-7" }), 409, "IDEMPOTENCY_KEY_CONFLICT");
  });

  it.each([
    [{}, "body.definition"],
    [{ definition: "" }, "body.definition"],
    [{ definition: "trip", version: "1" }, "body.version"],
    [{ definition: "trip", version: 0 }, "body.version"],
    [{ definition: "trip", input: { trip: "x" }, extra: true }, "body.extra"],
    [{ definition: "trip", id: "../etc" }, "body.id"],
    [{ definition: "trip", idempotencyKey: "" }, "body.idempotencyKey"],
    [{ definition: "trip", idempotencyKey: "k".repeat(513) }, "body.idempotencyKey"],
    [[1, 2], "body"],
  ])("refuses %j with 400 naming %s, and starts nothing", async (body, field) => {
    const { app, orchestrator } = await serve();
    expectProblem(await start(app, body), 400, "VALIDATION_FAILED", field);
    expect((await orchestrator.list({ limit: 10 })).items).toEqual([]);
  });

  it("refuses an unknown definition or version, and an input its definition refuses, with 400 naming the field", async () => {
    const { app, orchestrator } = await serve();
    expectProblem(await start(app, { definition: "nope" }), 400, "UNKNOWN_DEFINITION", "body.definition");
    expectProblem(await start(app, { definition: "trip", version: 9 }), 400, "UNKNOWN_DEFINITION", "body.definition");
    expectProblem(await start(app, { definition: "trip", version: 1, input: { trip: 5 } }), 400, "INVALID_ARGUMENT", "body.input.trip");
    const refused = expectProblem(await start(app, { definition: "plain", input: "refuse" }), 400, "INVALID_ARGUMENT", "body.input");
    expect(refused.detail).toContain("no thanks");
    expect((await orchestrator.list({ limit: 10 })).items).toEqual([]);
  });

  it("refuses malformed JSON, prototype-poisoning keys, other media types and oversize bodies, and stays up", async () => {
    const { app, orchestrator } = await serve({ bodyLimitBytes: 2048 });
    const raw = (payload: string, type = "application/json"): Promise<LightMyRequestResponse> =>
      app.inject({ method: "POST", url: "/api/v1/sagas", payload, headers: { "content-type": type } });
    expectProblem(await raw('{"definition": "trip",'), 400, "FST_ERR_CTP_INVALID_JSON_BODY");
    expectProblem(await raw('{"definition": "plain", "input": {"__proto__": {"polluted": true}}}'), 400, "FST_ERR_CTP_INVALID_JSON_BODY");
    expectProblem(await raw('{"definition": "plain", "input": {"constructor": {"prototype": {"polluted": true}}}}'), 400, "FST_ERR_CTP_INVALID_JSON_BODY");
    expectProblem(await raw("definition=trip", "application/x-www-form-urlencoded"), 415, "FST_ERR_CTP_INVALID_MEDIA_TYPE");
    expectProblem(await raw(JSON.stringify({ definition: "plain", input: "x".repeat(4096) })), 413, "FST_ERR_CTP_BODY_TOO_LARGE");
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((await orchestrator.list({ limit: 10 })).items).toEqual([]);
    expect((await app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
  });
});

describe("POST /api/v1/sagas with a deadline", () => {
  it("rolls back a saga that is still waiting when its deadline passes; refuses a deadline that is not a positive integer", async () => {
    const { app, orchestrator } = await serve();
    const started = await start(app, { definition: "approval", input: { amount: 5 }, id: "dl-1", deadlineMs: 200 });
    expect(started.statusCode, started.body).toBe(201);
    expect(json<SagaState>(started).deadlineAtMs).toBeGreaterThan(Date.now());
    const final = await orchestrator.waitFor("dl-1", 5_000);
    expect(final).toMatchObject({ status: "compensated", cancel: { by: "deadline" } });
    expectProblem(await start(app, { definition: "approval", input: { amount: 5 }, deadlineMs: 0 }), 400, "VALIDATION_FAILED", "body.deadlineMs");
    expectProblem(await start(app, { definition: "approval", input: { amount: 5 }, deadlineMs: "1s" }), 400, "VALIDATION_FAILED", "body.deadlineMs");
  });
});

describe("GET /api/v1/sagas/{id} and its history", () => {
  it("returns the saga and its numbered history; 404 for an unknown id, 400 for one that cannot exist", async () => {
    const { app, orchestrator } = await serve();
    await start(app, { definition: "trip", version: 1, input: { trip: "oslo", failAt: "charge" }, id: "trip-2" });
    expect((await orchestrator.waitFor("trip-2")).status).toBe("compensated");

    const saga = await app.inject({ method: "GET", url: "/api/v1/sagas/trip-2" });
    expect(saga.statusCode).toBe(200);
    expect(json<SagaState>(saga)).toMatchObject({ id: "trip-2", status: "compensated", stop: { reason: "step_failed", step: "charge" } });

    const history = await app.inject({ method: "GET", url: "/api/v1/sagas/trip-2/history" });
    expect(history.statusCode).toBe(200);
    const items = json<{ items: { seq: number; type: string }[] }>(history).items;
    expect(items.map((entry) => entry.seq)).toEqual(items.map((_, index) => index + 1));
    expect(items[0]?.type).toBe("saga_started");
    expect(items.at(-1)).toMatchObject({ type: "saga_ended", status: "compensated" });

    expectProblem(await app.inject({ method: "GET", url: "/api/v1/sagas/missing" }), 404, "SAGA_NOT_FOUND");
    expectProblem(await app.inject({ method: "GET", url: "/api/v1/sagas/missing/history" }), 404, "SAGA_NOT_FOUND");
    expectProblem(await app.inject({ method: "GET", url: `/api/v1/sagas/${"x".repeat(200)}` }), 400, "VALIDATION_FAILED", "params.id");
    expectProblem(await app.inject({ method: "GET", url: "/api/v1/nothing-here" }), 404, "NOT_FOUND");
  });
});

describe("GET /api/v1/sagas", () => {
  it("filters by status, definition and creation time, and pages with a cursor", async () => {
    const { app, orchestrator } = await serve();
    for (let i = 0; i < 5; i++) await start(app, { definition: "trip", version: 1, input: { trip: `t${i}`, ...(i % 2 === 1 ? { failAt: "charge" } : {}) }, id: `t-${i}` });
    await start(app, { definition: "plain", input: null, id: "p-1" });
    for (const id of ["t-0", "t-1", "t-2", "t-3", "t-4", "p-1"]) await orchestrator.waitFor(id);

    const list = async (query: string): Promise<{ items: SagaState[]; nextCursor: string | null }> => {
      const response = await app.inject({ method: "GET", url: `/api/v1/sagas${query}` });
      expect(response.statusCode, response.body).toBe(200);
      return json(response);
    };
    expect((await list("")).items.map((s) => s.id).sort()).toEqual(["p-1", "t-0", "t-1", "t-2", "t-3", "t-4"]);
    expect((await list("?status=compensated")).items.map((s) => s.id).sort()).toEqual(["t-1", "t-3"]);
    expect((await list("?status=compensated,completed&definition=trip")).items).toHaveLength(5);
    expect((await list("?status=compensated&status=completed&definition=plain")).items.map((s) => s.id)).toEqual(["p-1"]);
    expect((await list(`?createdFrom=${new Date(Date.now() + 60_000).toISOString()}`)).items).toEqual([]);
    expect((await list(`?createdTo=${new Date(Date.now() + 60_000).toISOString()}`)).items).toHaveLength(6);

    const seen: string[] = [];
    let page = await list("?limit=4");
    seen.push(...page.items.map((s) => s.id));
    expect(page.nextCursor).not.toBeNull();
    page = await list(`?limit=4&cursor=${encodeURIComponent(page.nextCursor ?? "")}`);
    seen.push(...page.items.map((s) => s.id));
    expect(page.nextCursor).toBeNull();
    expect(seen.sort()).toEqual(["p-1", "t-0", "t-1", "t-2", "t-3", "t-4"]);
  });

  it("finds the saga an idempotency key started, if it also passes the other filters", async () => {
    const { app, orchestrator } = await serve();
    await start(app, { definition: "trip", version: 1, input: { trip: "k" }, id: "keyed", idempotencyKey: "order-77" });
    await start(app, { definition: "plain", input: null, id: "unkeyed" });
    await orchestrator.waitFor("keyed");
    const ids = async (query: string): Promise<string[]> => {
      const response = await app.inject({ method: "GET", url: `/api/v1/sagas${query}` });
      expect(response.statusCode, response.body).toBe(200);
      const page = json<{ items: SagaState[]; nextCursor: string | null }>(response);
      expect(page.nextCursor).toBeNull();
      return page.items.map((s) => s.id);
    };
    expect(await ids("?idempotencyKey=order-77")).toEqual(["keyed"]);
    expect(await ids("?idempotencyKey=order-78")).toEqual([]);
    expect(await ids("?idempotencyKey=order-77&status=completed&definition=trip")).toEqual(["keyed"]);
    expect(await ids("?idempotencyKey=order-77&status=failed")).toEqual([]);
    expect(await ids("?idempotencyKey=order-77&definition=plain")).toEqual([]);
    expect(await ids(`?idempotencyKey=order-77&createdFrom=${new Date(Date.now() + 60_000).toISOString()}`)).toEqual([]);
    expectProblem(await app.inject({ method: "GET", url: "/api/v1/sagas?idempotencyKey=" }), 400, "VALIDATION_FAILED", "query.idempotencyKey");
  });

  it.each([
    ["?limit=0", "query.limit"],
    ["?limit=1001", "query.limit"],
    ["?limit=ten", "query.limit"],
    ["?status=lost", "query.status[0]"],
    ["?createdFrom=yesterday", "query.createdFrom"],
    ["?cursor=bm90LWEtY3Vyc29y", "query.cursor"],
    ["?sort=asc", "query.sort"],
  ])("refuses %s with 400 naming %s", async (query, field) => {
    const { app } = await serve();
    expectProblem(await app.inject({ method: "GET", url: `/api/v1/sagas${query}` }), 400, "VALIDATION_FAILED", field);
  });
});

describe("POST /api/v1/sagas/{id}/cancel", () => {
  it("accepts (202) a cancel of a running saga, which then compensates what completed; 409 once it ended; 404 when unknown", async () => {
    const { app, orchestrator } = await serve();
    booked.length = 0;
    await start(app, { definition: "trip", version: 1, input: { trip: "nice", waitInCharge: true }, id: "trip-3" });
    await expect.poll(() => booked).toContain("reserve:nice");

    const cancelled = await app.inject({ method: "POST", url: "/api/v1/sagas/trip-3/cancel", payload: { reason: "customer changed plans", by: "ops:alice" } });
    expect(cancelled.statusCode, cancelled.body).toBe(202);
    expect(json<SagaState>(cancelled).id).toBe("trip-3");
    gate.current.open();
    const final = await orchestrator.waitFor("trip-3");
    expect(final.status).toBe("compensated");
    expect(booked).toEqual(["reserve:nice", "release:nice"]);
    const history = await orchestrator.history("trip-3");
    expect(history).toContainEqual(expect.objectContaining({ type: "cancel_requested", reason: "customer changed plans", by: "ops:alice" }));

    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/trip-3/cancel" }), 409, "CANCEL_NOT_ALLOWED");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/nobody/cancel" }), 404, "SAGA_NOT_FOUND");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/trip-3/cancel", payload: { reason: 5 } }), 400, "VALIDATION_FAILED", "body.reason");
  });
});

describe("POST /api/v1/sagas/{id}/steps/{step}/complete and /fail", () => {
  async function startWaiting(app: FastifyInstance, orchestrator: Orchestrator, id: string): Promise<void> {
    expect((await start(app, { definition: "approval", input: { amount: 5 }, id })).statusCode).toBe(201);
    await expect.poll(async () => (await orchestrator.get(id)).steps[1]?.action.status).toBe("running");
  }

  it("completes a waiting step once (202), with the answer as its output; 409 after; 404 for an unknown step or saga", async () => {
    const { app, orchestrator } = await serve();
    await startWaiting(app, orchestrator, "ap-1");
    const url = "/api/v1/sagas/ap-1/steps/approve/complete";
    const answered = await app.inject({ method: "POST", url, payload: { output: { approvedBy: "ana" }, by: "ops:ana" } });
    expect(answered.statusCode, answered.body).toBe(202);
    const final = await orchestrator.waitFor("ap-1");
    expect(final.status).toBe("completed");
    expect(final.steps[1]?.output).toEqual({ approvedBy: "ana" });
    expectProblem(await app.inject({ method: "POST", url, payload: { output: 1 } }), 409, "STEP_NOT_WAITING");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/ap-1/steps/fly/complete", payload: {} }), 404, "STEP_NOT_FOUND");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/none/steps/approve/complete", payload: {} }), 404, "SAGA_NOT_FOUND");
    expectProblem(await app.inject({ method: "POST", url, payload: { output: 1, note: "x" } }), 400, "VALIDATION_FAILED", "body.note");
  });

  it("fails a waiting step (202) and the saga compensates; a failure without a message is refused (400) and changes nothing", async () => {
    const { app, orchestrator } = await serve();
    booked.length = 0;
    await startWaiting(app, orchestrator, "ap-2");
    const url = "/api/v1/sagas/ap-2/steps/approve/fail";
    expectProblem(await app.inject({ method: "POST", url, payload: { error: {} } }), 400, "VALIDATION_FAILED", "body.error.message");
    expect((await orchestrator.get("ap-2")).steps[1]?.action.status).toBe("running");
    const failed = await app.inject({ method: "POST", url, payload: { error: { message: "over budget", code: "BUDGET" }, by: "ops:bo" } });
    expect(failed.statusCode, failed.body).toBe(202);
    const final = await orchestrator.waitFor("ap-2");
    expect(final.status).toBe("compensated");
    expect(final.stop?.error).toMatchObject({ name: "StepFailedError", message: "over budget", code: "BUDGET" });
    expect(booked).toEqual(["approval:release"]);
  });

  it("refuses an answer to a step that runs its own action (409)", async () => {
    const { app, orchestrator } = await serve();
    await startWaiting(app, orchestrator, "ap-3");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/ap-3/steps/hold/complete", payload: {} }), 409, "STEP_NOT_WAITING");
  });
});

describe("POST /api/v1/sagas/{id}/signals/{name}", () => {
  it("delivers a named event (202) that the waiting step takes as its output; the same delivery again is a duplicate (200)", async () => {
    const { app, orchestrator } = await serve();
    await start(app, { definition: "approved-trip", input: null, id: "at-1" });
    await expect.poll(async () => (await orchestrator.get("at-1")).steps[1]?.action.status).toBe("running");
    const sent = await app.inject({ method: "POST", url: "/api/v1/sagas/at-1/signals/manager-approved", payload: { data: { approver: "ana" }, by: "ops:ana" } });
    expect(sent.statusCode, sent.body).toBe(202);
    const final = await orchestrator.waitFor("at-1");
    expect(final.steps[1]?.output).toEqual({ approver: "ana" });
    expect(final.signals).toEqual([expect.objectContaining({ name: "manager-approved", by: "ops:ana", consumedBy: "approval" })]);
    const again = await app.inject({ method: "POST", url: "/api/v1/sagas/at-1/signals/manager-approved", payload: { data: { approver: "bo" } } });
    expect(again.statusCode, again.body).toBe(200);
    expect(json<SagaState>(again).signals).toHaveLength(1);
  });

  it("keeps an event sent before the saga waits for it; 409 once the saga ended, 404 for an unknown saga, 400 for a bad name or body", async () => {
    const { app, orchestrator } = await serve();
    await start(app, { definition: "trip", version: 1, input: { trip: "w", waitInCharge: true }, id: "early" });
    const early = await app.inject({ method: "POST", url: "/api/v1/sagas/early/signals/news", payload: {} });
    expect(early.statusCode, early.body).toBe(202);
    gate.current.open();
    const ended = await orchestrator.waitFor("early");
    expect(ended.signals).toEqual([expect.objectContaining({ name: "news", id: "news", payload: null, by: "http-api" })]);
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/early/signals/other", payload: {} }), 409, "SAGA_ENDED");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/nobody/signals/news", payload: {} }), 404, "SAGA_NOT_FOUND");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/early/signals/1bad", payload: {} }), 400, "VALIDATION_FAILED", "params.name");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/early/signals/news", payload: { payload: 1 } }), 400, "VALIDATION_FAILED", "body.payload");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/early/signals/news", payload: { id: "" } }), 400, "VALIDATION_FAILED", "body.id");
  });
});

describe("POST /api/v1/sagas/{id}/retry", () => {
  it("reopens a failed saga once its cause is fixed (202): the failed compensation runs again and the saga ends compensated", async () => {
    const { app, orchestrator } = await serve();
    refund.broken = true;
    refund.calls = 0;
    await start(app, { definition: "refundable", id: "rf-1" });
    const failed = await orchestrator.waitFor("rf-1");
    expect(failed).toMatchObject({ status: "failed", outstanding: [{ step: "charge", phase: "compensation" }] });
    const callsWhileBroken = refund.calls;

    refund.broken = false;
    const retried = await app.inject({ method: "POST", url: "/api/v1/sagas/rf-1/retry", payload: { reason: "refund API is back", by: "ops:ana" } });
    expect(retried.statusCode, retried.body).toBe(202);
    await expect.poll(async () => (await orchestrator.get("rf-1")).status, { timeout: 5_000 }).toBe("compensated");
    expect(refund.calls).toBe(callsWhileBroken + 1);
    const history = await orchestrator.history("rf-1");
    expect(history).toContainEqual(expect.objectContaining({ type: "retry_requested", by: "ops:ana", reason: "refund API is back" }));
    expect(history.at(-1)).toMatchObject({ type: "saga_ended", status: "compensated" });

    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/rf-1/retry" }), 409, "RETRY_NOT_ALLOWED");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/nobody/retry" }), 404, "SAGA_NOT_FOUND");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/rf-1/retry", payload: { by: 1 } }), 400, "VALIDATION_FAILED", "body.by");
  });
});

describe("POST /api/v1/sagas/{id}/steps/{step}/skip-compensation and /resolve", () => {
  it("skips the outstanding compensation of a failed saga (202): it counts as done by hand and the saga ends compensated", async () => {
    const { app, orchestrator } = await serve();
    refund.broken = true;
    refund.calls = 0;
    await start(app, { definition: "refundable", id: "sk-1" });
    await orchestrator.waitFor("sk-1");
    const calls = refund.calls;
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/sk-1/steps/charge/skip-compensation", payload: {} }), 400, "VALIDATION_FAILED", "body.reason");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/sk-1/steps/ship/skip-compensation", payload: { reason: "x" } }), 409, "REPAIR_NOT_ALLOWED");

    const skipped = await app.inject({ method: "POST", url: "/api/v1/sagas/sk-1/steps/charge/skip-compensation", payload: { reason: "refunded by hand, OPS-42", by: "ops:ana" } });
    expect(skipped.statusCode, skipped.body).toBe(202);
    await expect.poll(async () => (await orchestrator.get("sk-1")).status, { timeout: 5_000 }).toBe("compensated");
    const saga = await orchestrator.get("sk-1");
    expect(saga.steps[0]?.compensation.status).toBe("skipped");
    expect(refund.calls).toBe(calls);
    expect(await orchestrator.history("sk-1")).toContainEqual(expect.objectContaining({ type: "compensation_skipped", step: "charge", reason: "refunded by hand, OPS-42", by: "ops:ana" }));
    // Skip makes no sense on a saga that is not failed.
    const detail = expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/sk-1/steps/charge/skip-compensation", payload: { reason: "again" } }), 409, "REPAIR_NOT_ALLOWED");
    expect(detail.detail).toMatch(/it is compensated/);
  });

  it("marks a failed saga resolved (202): it stays failed, with who and why; a second resolve is refused", async () => {
    const { app, orchestrator } = await serve();
    refund.broken = true;
    await start(app, { definition: "refundable", id: "rs-1" });
    await orchestrator.waitFor("rs-1");
    const resolved = await app.inject({ method: "POST", url: "/api/v1/sagas/rs-1/resolve", payload: { reason: "customer refunded by bank transfer", by: "ops:bo" } });
    expect(resolved.statusCode, resolved.body).toBe(202);
    await expect.poll(async () => (await orchestrator.get("rs-1")).resolution?.by, { timeout: 5_000 }).toBe("ops:bo");
    expect((await orchestrator.get("rs-1")).status).toBe("failed");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/rs-1/resolve", payload: { reason: "again" } }), 409, "REPAIR_NOT_ALLOWED");
    await start(app, { definition: "plain", input: null, id: "fine" });
    await orchestrator.waitFor("fine");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/fine/resolve", payload: { reason: "x" } }), 409, "REPAIR_NOT_ALLOWED");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/nobody/resolve", payload: { reason: "x" } }), 404, "SAGA_NOT_FOUND");
  });
});

describe("POST /api/v1/sagas/{id}/abort", () => {
  it("stops a saga without compensating (202): the step in flight settles, then it ends failed with the compensation outstanding", async () => {
    const { app, orchestrator } = await serve();
    booked.length = 0;
    await start(app, { definition: "trip", version: 1, input: { trip: "ab", waitInCharge: true }, id: "ab-1" });
    await expect.poll(async () => (await orchestrator.get("ab-1")).steps[1]?.action.status).toBe("running");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/ab-1/abort", payload: {} }), 400, "VALIDATION_FAILED", "body.reason");
    const aborted = await app.inject({ method: "POST", url: "/api/v1/sagas/ab-1/abort", payload: { reason: "the card processor double-charges", by: "ops:ana" } });
    expect(aborted.statusCode, aborted.body).toBe(202);
    gate.current.open();
    const final = await orchestrator.waitFor("ab-1", 5_000);
    expect(final).toMatchObject({ status: "failed", stop: { reason: "aborted" }, abort: { by: "ops:ana" }, outstanding: [{ step: "reserve", phase: "compensation" }] });
    expect(booked).not.toContain("release:ab");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/ab-1/abort", payload: { reason: "again" } }), 409, "REPAIR_NOT_ALLOWED");
  });
});

describe("POST /api/v1/sagas/{id}/migrate", () => {
  it("moves a waiting saga onto a version whose steps line up (202); refuses one that does not (409) or a version it does not run (400)", async () => {
    const { app, orchestrator } = await serve();
    await start(app, { definition: "trip", version: 1, input: { trip: "mv", waitInCharge: true }, id: "mv-1" });
    await expect.poll(async () => (await orchestrator.get("mv-1")).steps[1]?.action.status).toBe("running");
    // Its step is running right now: not movable until it settles.
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/mv-1/migrate", payload: { toVersion: 2, reason: "x" } }), 409, "REPAIR_NOT_ALLOWED");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/mv-1/migrate", payload: { toVersion: 7, reason: "x" } }), 400, "UNKNOWN_DEFINITION");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/mv-1/migrate", payload: { toVersion: 2 } }), 400, "VALIDATION_FAILED", "body.reason");
    gate.current.open();
    await orchestrator.waitFor("mv-1");
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas/mv-1/migrate", payload: { toVersion: 2, reason: "x" } }), 409, "REPAIR_NOT_ALLOWED");
  });
});

describe("GET /api/v1/stats", () => {
  it("counts sagas by status and per minute of the last hour: started by creation, the rest by how and when they ended", async () => {
    const { app, orchestrator } = await serve();
    await start(app, { definition: "trip", version: 1, input: { trip: "a" }, id: "ok" });
    await start(app, { definition: "trip", version: 1, input: { trip: "b", failAt: "charge" }, id: "undone" });
    await start(app, { definition: "trip", version: 1, input: { trip: "c", waitInCharge: true }, id: "busy" });
    await orchestrator.waitFor("ok");
    await orchestrator.waitFor("undone");

    const response = await app.inject({ method: "GET", url: "/api/v1/stats" });
    expect(response.statusCode, response.body).toBe(200);
    const body = json<{ counts: Record<string, number>; activity: { fromMs: number; toMs: number; bucketMs: number; buckets: Array<{ started: number; completed: number; compensated: number; failed: number }> } }>(response);
    expect(body.counts).toEqual({ running: 1, compensating: 0, completed: 1, compensated: 1, failed: 0 });
    // Which versions unfinished sagas need, and whether this server runs them.
    expect((body as unknown as { versions: unknown[] }).versions).toEqual([{ definition: "trip", version: 1, unfinished: 1, runsHere: true }]);
    const { activity } = body;
    expect(activity.bucketMs).toBe(60_000);
    expect(activity.buckets).toHaveLength(60);
    expect(activity.toMs - activity.fromMs).toBe(3_600_000);
    expect(activity.toMs % 60_000).toBe(0);
    expect(activity.toMs).toBeGreaterThan(Date.now() - 1000);
    const totals = activity.buckets.reduce(
      (sum, b) => ({ started: sum.started + b.started, completed: sum.completed + b.completed, compensated: sum.compensated + b.compensated, failed: sum.failed + b.failed }),
      { started: 0, completed: 0, compensated: 0, failed: 0 },
    );
    expect(totals).toEqual({ started: 3, completed: 1, compensated: 1, failed: 0 });

    const fine = json<{ activity: { buckets: unknown[]; bucketMs: number } }>(await app.inject({ method: "GET", url: "/api/v1/stats?windowMs=600000&bucketMs=10000" }));
    expect(fine.activity).toMatchObject({ bucketMs: 10_000 });
    expect(fine.activity.buckets).toHaveLength(60);
  });

  it.each([
    ["?windowMs=59999", "query.windowMs"],
    ["?bucketMs=999", "query.bucketMs"],
    ["?windowMs=604800000&bucketMs=1000", "query.bucketMs"],
    ["?window=1h", "query.window"],
  ])("refuses %s with 400 naming %s", async (query, field) => {
    const { app } = await serve();
    expectProblem(await app.inject({ method: "GET", url: `/api/v1/stats${query}` }), 400, "VALIDATION_FAILED", field);
  });
});

describe("GET /api/v1/definitions", () => {
  it("lists every definition and version with its steps and policies", async () => {
    const { app } = await serve();
    const response = await app.inject({ method: "GET", url: "/api/v1/definitions" });
    expect(response.statusCode).toBe(200);
    const items = json<{ items: { name: string; version: number; steps: { name: string; hasCompensation: boolean; retry: { maxAttempts: number } }[] }[] }>(response).items;
    expect(items.map((d) => `${d.name}@${d.version}`)).toEqual(["approval@1", "approved-trip@1", "plain@1", "refundable@1", "trip@1", "trip@2"]);
    expect(items.find((d) => d.name === "approved-trip")?.steps[1]).toMatchObject({ name: "approval", wait: true, event: "manager-approved" });
    expect(items.find((d) => d.name === "approval")?.steps.map((s) => (s as { wait?: boolean }).wait)).toEqual([false, true]);
    expect(items.find((d) => d.name === "trip" && d.version === 1)?.steps).toMatchObject([
      { name: "reserve", hasCompensation: true },
      { name: "charge", hasCompensation: false, retry: { maxAttempts: 1 } },
    ]);
  });
});

describe("probes and authentication", () => {
  it("answers /healthz, and /readyz only while the store answers", async () => {
    const { app, orchestrator } = await serve();
    expect(json(await app.inject({ method: "GET", url: "/healthz" }))).toEqual({ status: "ok" });
    expect(json(await app.inject({ method: "GET", url: "/readyz" }))).toEqual({ status: "ready" });
    await orchestrator.store.close();
    const down = await app.inject({ method: "GET", url: "/readyz" });
    expect(down.statusCode).toBe(503);
    expect(json(down)).toMatchObject({ status: "unavailable" });
  });

  it("with a token, needs it on every API call (compared in full) but not on the probes", async () => {
    const token = "s3cret-token-of-some-length";
    const { app } = await serve({ token });
    const get = (authorization?: string): Promise<LightMyRequestResponse> =>
      app.inject({ method: "GET", url: "/api/v1/sagas", headers: authorization === undefined ? {} : { authorization } });
    const missing = expectProblem(await get(), 401, "UNAUTHORIZED");
    expect(missing.detail).toContain("Bearer");
    expect((await get()).headers["www-authenticate"]).toContain("Bearer");
    expectProblem(await get(`Bearer ${token}x`), 401, "UNAUTHORIZED");
    expectProblem(await get(`Bearer ${token.slice(0, -1)}`), 401, "UNAUTHORIZED");
    expectProblem(await get(`Basic ${token}`), 401, "UNAUTHORIZED");
    expect((await get(`Bearer ${token}`)).statusCode).toBe(200);
    expect((await get(`bearer ${token}`)).statusCode).toBe(200);
    expectProblem(await app.inject({ method: "POST", url: "/api/v1/sagas", payload: { definition: "plain" } }), 401, "UNAUTHORIZED");
    expectProblem(await app.inject({ method: "GET", url: "/api/v1/openapi.json" }), 401, "UNAUTHORIZED");
    expect((await app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    expect((await app.inject({ method: "GET", url: "/readyz" })).statusCode).toBe(200);
  });

  it("refuses a token shorter than 16 characters", async () => {
    const orchestrator = await Orchestrator.create({ store: createMemoryStore(), definitions: [plain], worker: false });
    await expect(createServer({ orchestrator, token: "short" })).rejects.toThrow(/at least 16/);
    await orchestrator.close();
  });
});
