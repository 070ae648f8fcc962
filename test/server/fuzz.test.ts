import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineSaga, Orchestrator, silentLogger } from "../../src/index.js";
import { DefinitionCatalog } from "../../src/server/definition-catalog.js";
import { createServer } from "../../src/server/index.js";
import { createMemoryStore, type MemoryStore } from "../../src/testing/index.js";

const target = defineSaga<null>({ name: "target", version: 1 }).waitStep("wait").build();

let app: FastifyInstance;
let orchestrator: Orchestrator;
let store: MemoryStore;

beforeAll(async () => {
  store = createMemoryStore();
  orchestrator = await Orchestrator.create({ store, definitions: [target] });
  const catalog = new DefinitionCatalog({ orchestrator, store, variables: {}, logger: silentLogger });
  app = await createServer({ orchestrator, catalog, bodyLimitBytes: 64 * 1024 });
});
afterAll(async () => {
  await app.close();
  await orchestrator.close();
});

const POLLUTING_KEYS = ["__proto__", "constructor", "prototype", "__defineGetter__", "toString", "hasOwnProperty"];

/** JSON values an attacker might send: anything, with hostile keys, deep nesting and long strings mixed in. */
const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.jsonValue({ maxDepth: 4 }),
    fc.string({ minLength: 1000, maxLength: 70_000 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...POLLUTING_KEYS), fc.string()), tie("value"), { maxKeys: 5 }),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.integer({ min: 1, max: 400 }).map((depth) => JSON.parse("[".repeat(depth) + "]".repeat(depth)) as unknown),
  ),
})).value;

/** A body as text: mostly JSON of a hostile value, sometimes raw bytes that are not JSON at all. */
const hostileText = fc.oneof(
  hostileJson.map((value) => JSON.stringify(value) ?? "null"),
  hostileJson.map((value) => `{"__proto__": ${JSON.stringify(value) ?? "null"}}`),
  fc.string({ maxLength: 2000 }),
  fc.constantFrom('{"definition": "target", "input": {"constructor": {"prototype": {"polluted": 1}}}}', "{", "\u0000", "[".repeat(10_000)),
);

/**
 * Fixed by default so CI runs the same inputs every time; set SAGAFLOW_FUZZ_SEED to explore others
 * (a failure prints its seed and counterexample).
 */
const seed = Number(process.env.SAGAFLOW_FUZZ_SEED ?? 20_261_130);

const endpoints = [
  { method: "POST", url: "/api/v1/sagas" },
  { method: "POST", url: "/api/v1/sagas/nobody/cancel" },
  { method: "POST", url: "/api/v1/sagas/nobody/steps/wait/complete" },
  { method: "POST", url: "/api/v1/sagas/nobody/steps/wait/fail" },
  { method: "PUT", url: "/api/v1/definitions/fuzzed" },
] as const;

describe("hostile input", () => {
  it("every write endpoint answers 4xx, the server stays up, and nothing is stored", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...endpoints), hostileText, fc.constantFrom("application/json", "application/yaml", "text/plain"), async (endpoint, payload, type) => {
        const response = await app.inject({ method: endpoint.method, url: endpoint.url, headers: { "content-type": type }, payload });
        expect(response.statusCode, `${endpoint.method} ${endpoint.url} ${type} → ${response.statusCode} ${response.body.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
        expect(response.statusCode).toBeLessThan(500);
        expect(response.headers["content-type"]).toContain("application/problem+json");
      }),
      { numRuns: 300, seed },
    );
    expect((await app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    expect((await orchestrator.list({ limit: 10 })).items).toEqual([]);
    expect(await store.listDefinitions()).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("every query and path parameter of the read endpoints answers 2xx or 4xx, never 5xx", async () => {
    const queryValue = fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom("__proto__", "-1", "1e309", "NaN", "0x10", "[]", "%00", "%E0%A4%A"));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("status", "definition", "createdFrom", "createdTo", "limit", "cursor", "__proto__", "constructor"),
        queryValue,
        fc.string({ maxLength: 200 }),
        async (key, value, id) => {
          const list = await app.inject({ method: "GET", url: `/api/v1/sagas?${encodeURIComponent(key)}=${encodeURIComponent(value)}` });
          expect(list.statusCode, list.body.slice(0, 300)).toBeLessThan(500);
          const one = await app.inject({ method: "GET", url: `/api/v1/sagas/${encodeURIComponent(id)}/history` });
          expect(one.statusCode, one.body.slice(0, 300)).toBeLessThan(500);
          expect([200, 400, 404]).toContain(one.statusCode);
        },
      ),
      { numRuns: 300, seed },
    );
  });
});
