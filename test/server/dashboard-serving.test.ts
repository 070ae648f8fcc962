import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Orchestrator } from "../../src/index.js";
import { createServer, PROBLEM_MEDIA_TYPE, type ServerOptions } from "../../src/server/index.js";
import { createMemoryStore } from "../../src/testing/index.js";

let build: string;
let orchestrator: Orchestrator;
let app: FastifyInstance | undefined;

beforeAll(async () => {
  // A stand-in for `npm run build:dashboard`'s output: what matters here is how it is served.
  build = mkdtempSync(join(tmpdir(), "sagaflow-dashboard-build-"));
  mkdirSync(join(build, "assets"));
  writeFileSync(join(build, "index.html"), '<!doctype html><title>Sagaflow</title><script type="module" src="./assets/index-abc123.js"></script>');
  writeFileSync(join(build, "assets", "index-abc123.js"), "document.title = 'Sagaflow';");
  orchestrator = await Orchestrator.create({ store: createMemoryStore(), definitions: [] });
});

afterEach(async () => {
  await app?.close();
  app = undefined;
});

afterAll(async () => {
  await orchestrator.close();
  rmSync(build, { recursive: true, force: true });
});

async function serve(options: Partial<ServerOptions>): Promise<FastifyInstance> {
  app = await createServer({ orchestrator, ...options });
  return app;
}

describe("the dashboard served at /", () => {
  it("serves index.html (revalidated) and its hashed assets (cached for good), each under a same-origin-only policy", async () => {
    const server = await serve({ dashboardDirectory: build });
    const page = await server.inject({ method: "GET", url: "/" });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toContain("text/html");
    expect(page.body).toContain("./assets/index-abc123.js");
    expect(page.headers["cache-control"]).toBe("no-cache");
    expect(page.headers["content-security-policy"]).toContain("default-src 'self'");
    expect(page.headers["content-security-policy"]).toContain("connect-src 'self'");

    const script = await server.inject({ method: "GET", url: "/assets/index-abc123.js" });
    expect(script.statusCode).toBe(200);
    expect(script.headers["content-type"]).toContain("javascript");
    expect(script.headers["cache-control"]).toContain("immutable");
    expect(script.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("keeps the API's problem+json 404 for paths that are neither files nor routes, and serves nothing outside the build", async () => {
    const server = await serve({ dashboardDirectory: build });
    for (const url of ["/sagas/abc", "/assets/missing.js", "/api/v1/nothing", "/../package.json", "/assets/../../package.json"]) {
      const response = await server.inject({ method: "GET", url });
      expect(response.statusCode, url).toBe(404);
      expect(response.headers["content-type"], url).toContain(PROBLEM_MEDIA_TYPE);
    }
  });

  it("needs no token for the page itself, while every API call it makes does", async () => {
    const server = await serve({ dashboardDirectory: build, token: "a-token-long-enough-for-tests" });
    expect((await server.inject({ method: "GET", url: "/" })).statusCode).toBe(200);
    expect((await server.inject({ method: "GET", url: "/api/v1/stats" })).statusCode).toBe(401);
    expect((await server.inject({ method: "GET", url: "/api/v1/stats", headers: { authorization: "Bearer a-token-long-enough-for-tests" } })).statusCode).toBe(200);
  });

  it("says how to build the dashboard when the directory holds no build, and serves none when told not to", async () => {
    const missing = await serve({ dashboardDirectory: join(build, "not-built") });
    const page = await missing.inject({ method: "GET", url: "/" });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain("npm run build:dashboard");
    await missing.close();

    const none = await serve({ dashboardDirectory: null });
    expect((await none.inject({ method: "GET", url: "/" })).statusCode).toBe(404);
    expect((await none.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
  });
});
