import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { defineSaga, Orchestrator, silentLogger } from "../../src/index.js";
import { DefinitionCatalog } from "../../src/server/definition-catalog.js";
import { createServer } from "../../src/server/index.js";
import { createMemoryStore, type MemoryStore } from "../../src/testing/index.js";

const APPROVAL_V1 = `name: approval
version: 1
steps:
  - name: approve
    wait: { timeoutMs: 60000 }
`;

const APPROVAL_V2 = `name: approval
version: 2
steps:
  - name: approve
    wait: { timeoutMs: 60000 }
  - name: countersign
    wait: {}
`;

const coded = defineSaga<null>({ name: "coded", version: 1 }).step("x", { action: () => null }).build();

interface Served {
  app: FastifyInstance;
  orchestrator: Orchestrator;
  store: MemoryStore;
  catalog: DefinitionCatalog;
}

const opened: Served[] = [];
afterEach(async () => {
  for (const { app, orchestrator } of opened.splice(0)) {
    await app.close();
    await orchestrator.close();
  }
});

async function serve(store: MemoryStore = createMemoryStore(), variables: Record<string, string> = {}): Promise<Served> {
  // The store outlives any one orchestrator here, as a database outlives its servers.
  const lasting = new Proxy(store, {
    get(target, property) {
      if (property === "close") return () => Promise.resolve();
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const orchestrator = await Orchestrator.create({ store: lasting, definitions: [coded], pollIntervalMs: 20 });
  const catalog = new DefinitionCatalog({ orchestrator, store: lasting, variables, logger: silentLogger });
  await catalog.refresh();
  const app = await createServer({ orchestrator, catalog });
  const served = { app, orchestrator, store, catalog };
  opened.push(served);
  return served;
}

function put(app: FastifyInstance, name: string, text: string, type = "application/yaml"): Promise<LightMyRequestResponse> {
  return app.inject({ method: "PUT", url: `/api/v1/definitions/${name}`, headers: { "content-type": type }, payload: text });
}

describe("PUT /api/v1/definitions/{name}", () => {
  it("saves and runs a YAML definition (201), takes the same document again (200), and refuses a changed one under its version (409)", async () => {
    const { app, orchestrator } = await serve();
    const created = await put(app, "approval", APPROVAL_V1);
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ name: "approval", version: 1 });
    expect(created.json<{ hash: string }>().hash).toMatch(/^[0-9a-f]{64}$/);
    const again = await put(app, "approval", APPROVAL_V1);
    expect(again.statusCode).toBe(200);
    expect(again.json<{ hash: string }>().hash).toBe(created.json<{ hash: string }>().hash);
    const changed = await put(app, "approval", APPROVAL_V1.replace("60000", "1000"));
    expect(changed.statusCode).toBe(409);
    expect(changed.json()).toMatchObject({ code: "DEFINITION_CONFLICT" });

    // It runs: a started saga waits on its step until answered over the API.
    const started = await app.inject({ method: "POST", url: "/api/v1/sagas", payload: { definition: "approval", id: "ap-1" } });
    expect(started.statusCode).toBe(201);
    await expect.poll(async () => (await orchestrator.get("ap-1")).steps[0]?.action.status).toBe("running");
    expect((await app.inject({ method: "POST", url: "/api/v1/sagas/ap-1/steps/approve/complete", payload: { output: { ok: true } } })).statusCode).toBe(202);
    expect((await orchestrator.waitFor("ap-1")).status).toBe("completed");
  });

  it("takes JSON too; a new version serves new starts while running instances keep theirs", async () => {
    const { app, orchestrator } = await serve();
    expect((await put(app, "approval", APPROVAL_V1)).statusCode).toBe(201);
    await app.inject({ method: "POST", url: "/api/v1/sagas", payload: { definition: "approval", id: "old" } });
    const v2 = { name: "approval", version: 2, steps: [{ name: "approve", wait: { timeoutMs: 60000 } }, { name: "countersign", wait: {} }] };
    expect((await put(app, "approval", JSON.stringify(v2, null, 2), "application/json")).statusCode).toBe(201);
    const fresh = await app.inject({ method: "POST", url: "/api/v1/sagas", payload: { definition: "approval", id: "new" } });
    expect(fresh.json()).toMatchObject({ definitionVersion: 2 });
    expect((await orchestrator.get("old")).definitionVersion).toBe(1);
    const versions = (await app.inject({ method: "GET", url: "/api/v1/definitions" })).json<{ items: { name: string; version: number }[] }>().items;
    expect(versions.map((d) => `${d.name}@${d.version}`)).toEqual(["approval@1", "approval@2", "coded@1"]);
  });

  it("refuses an invalid document with 400 listing every issue with its line and column, and saves nothing", async () => {
    const { app, store } = await serve();
    const broken = `name: approval
version: 1
steps:
  - name: approve
    wait: { timeoutMs: "soon" }
  - name: ship
    action:
      http: { method: FETCH, url: "http://x/y" }
`;
    const response = await put(app, "approval", broken);
    expect(response.statusCode).toBe(400);
    expect(response.headers["content-type"]).toContain("application/problem+json");
    const issues = response.json<{ issues: { field: string; line: number; column: number }[] }>().issues;
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: "steps[0].wait.timeoutMs", line: 5 }),
        expect.objectContaining({ field: "steps[1].action.http.method", line: 8 }),
      ]),
    );
    expect(await store.listDefinitions()).toEqual([]);
  });

  it("refuses a name that differs from the URL's, a code definition's name@version, and a document needing an unset variable", async () => {
    const { app, store } = await serve();
    const mismatch = await put(app, "other", APPROVAL_V1);
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.json()).toMatchObject({ code: "INVALID_ARGUMENT" });
    const shadow = await put(app, "coded", "name: coded\nversion: 1\nsteps:\n  - name: x\n    wait: {}\n");
    expect(shadow.statusCode).toBe(409);
    const needsVariable = await put(app, "calls", 'name: calls\nversion: 1\nsteps:\n  - name: a\n    action:\n      http: { method: POST, url: "${SERVICE_URL}/a" }\n');
    expect(needsVariable.statusCode).toBe(400);
    expect(JSON.stringify(needsVariable.json())).toContain("SERVICE_URL");
    expect(await store.listDefinitions()).toEqual([]);
  });

  it("skips a saved definition a server cannot build (a variable unset there), and says so once", async () => {
    const store = createMemoryStore();
    const able = await serve(store, { SERVICE_URL: "http://127.0.0.1:9" });
    const calls = 'name: calls\nversion: 1\nsteps:\n  - name: a\n    action:\n      http: { method: POST, url: "${SERVICE_URL}/a" }\n';
    expect((await put(able.app, "calls", calls)).statusCode).toBe(201);

    const unable = await serve(store);
    const errors: object[] = [];
    const logger = { ...silentLogger, error: (obj: object) => void errors.push(obj) };
    const catalog = new DefinitionCatalog({ orchestrator: unable.orchestrator, store, variables: {}, logger });
    await catalog.refresh();
    await catalog.refresh();
    expect(unable.orchestrator.definitions.has("calls@1")).toBe(false);
    expect(errors).toEqual([expect.objectContaining({ definition: "calls@1" })]);
  });

  it("reaches every server of the fleet: another server registers saved definitions on refresh", async () => {
    const store = createMemoryStore();
    const first = await serve(store);
    const second = await serve(store);
    expect((await put(first.app, "approval", APPROVAL_V2)).statusCode).toBe(201);
    expect(second.orchestrator.definitions.has("approval@2")).toBe(false);
    await second.catalog.refresh();
    expect(second.orchestrator.definitions.has("approval@2")).toBe(true);
    expect((await second.app.inject({ method: "POST", url: "/api/v1/sagas", payload: { definition: "approval" } })).statusCode).toBe(201);
  });
});
