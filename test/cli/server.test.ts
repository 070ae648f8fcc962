import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import type { SagaState } from "../../src/index.js";
import { collect, runCli, spawnCli, type CliResult } from "../support/cli-process.js";

const dir = mkdtempSync(join(tmpdir(), "sagaflow-server-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const MODULE = "test/fixtures/server-sagas.ts";

/** Starts `sagaflow server` on a free port and resolves with its API's base URL once it listens. */
async function startServer(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; api: string; exited: Promise<CliResult> }> {
  const child = spawnCli(["server", "--port", "0", ...args], env);
  const exited = collect(child);
  const api = await new Promise<string>((resolve, reject) => {
    let seen = "";
    child.stderr?.on("data", (chunk: Buffer | string) => {
      seen += String(chunk);
      const match = /API at (http:\/\/\S+\/api\/v1)/.exec(seen);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    void exited.then((result) => reject(new Error(`server exited ${String(result.code)} before listening: ${result.stderr}`)));
  });
  return { child, api, exited };
}

async function waitForStatus(api: string, id: string, status: string, headers: Record<string, string> = {}): Promise<SagaState> {
  for (let i = 0; i < 200; i++) {
    const response = await fetch(`${api}/sagas/${id}`, { headers });
    const saga = (await response.json()) as SagaState;
    if (saga.status === status) return saga;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`saga ${id} never reached ${status}`);
}

describe("sagaflow server", () => {
  it("serves the API over the sagas of --module, on loopback without a token, and drains on SIGTERM with exit 0", async () => {
    const db = join(dir, "plain.db");
    const { child, api, exited } = await startServer(["--db", db, "--module", MODULE]);
    expect(api).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v1$/);

    const started = await fetch(`${api}/sagas`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ definition: "greet", input: { name: "mallory" }, id: "g-1" }) });
    expect(started.status).toBe(201);
    const saga = await waitForStatus(api, "g-1", "compensated");
    expect(saga.steps[0]?.output).toEqual({ said: "hello mallory" });

    // A saga still running when SIGTERM arrives finishes within the grace period.
    await fetch(`${api}/sagas`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ definition: "greet", input: { name: "ana", holdMs: 300 }, id: "g-2" }) });
    child.kill("SIGTERM");
    // Draining: a new start is turned away (503 on a connection still open, or no connection at all), never accepted.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const late = await fetch(`${api}/sagas`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ definition: "greet", input: { name: "late" }, id: "g-late" }) }).then(
      (response) => response.status,
      () => "refused",
    );
    expect([503, "refused"]).toContain(late);
    const result = await exited;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe("server stopped\n");

    const shown = await runCli(["show", "g-2", "--db", db, "--json"]);
    expect(JSON.parse(shown.stdout)).toMatchObject({ id: "g-2", status: "completed" });
    expect((await runCli(["show", "g-late", "--db", db])).code).not.toBe(0);
  });

  it("with --token (or SAGAFLOW_TOKEN) needs the bearer token on the API, not on the probes", async () => {
    const token = "cli-test-token-0123456789";
    const { child, api, exited } = await startServer(["--db", join(dir, "token.db"), "--module", MODULE, "--host", "127.0.0.1"], { SAGAFLOW_TOKEN: token });
    expect((await fetch(`${api}/sagas`)).status).toBe(401);
    expect((await fetch(`${api}/sagas`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    expect((await fetch(api.replace("/api/v1", "/readyz"))).status).toBe(200);
    child.kill("SIGINT");
    expect((await exited).code).toBe(0);
  });

  it.each([
    [["--host", "0.0.0.0"], "--host 0.0.0.0 needs --token"],
    [["--token", "short"], "--token must be at least 16 characters"],
    [["--module", "test/fixtures/no-such-module.js"], "could not be loaded"],
    [["--module", "test/support/cli-process.ts"], "exports no saga definitions"],
  ])("refuses %j with exit 2: %s", async (args, message) => {
    const result = await runCli(["server", "--port", "0", "--db", join(dir, "refused.db"), ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });
});
