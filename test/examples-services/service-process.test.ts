import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ServiceLedger } from "../../src/examples/services/index.js";
import { REPO_ROOT } from "../support/cli-process.js";

const READY_TIMEOUT_MS = 20_000;

interface ServiceProcess {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

const started: ChildProcess[] = [];

/** Runs main.ts as a real process and waits for its `<service> listening on <url>` line. */
async function startProcess(args: readonly string[]): Promise<ServiceProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/examples/services/main.ts", ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  started.push(child);
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  let stdout = "";
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within ${READY_TIMEOUT_MS} ms; stderr: ${stderr}`)), READY_TIMEOUT_MS);
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      const ready = /^(\w+) listening on (http:\/\/127\.0\.0\.1:\d+)\n/m.exec(stdout);
      if (ready?.[2] !== undefined) {
        clearTimeout(timer);
        resolve(ready[2]);
      }
    });
    void exited.then(([code, signal]) => {
      clearTimeout(timer);
      reject(new Error(`exited (${String(code)}, ${String(signal)}) before it was ready; stderr: ${stderr}`));
    });
  });
  return { child, url, stdout: () => stdout, stderr: () => stderr, exited };
}

function reserve(url: string, key: string): Promise<Response> {
  return fetch(`${url}/payments`, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": key },
    body: JSON.stringify({ orderId: "order-123", customerId: "customer-1", amountCents: 4_990, paymentMethod: "card" }),
  });
}

describe("a participant service as its own process (main.ts)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "sagaflow-service-process-"));
  });
  afterEach(async () => {
    for (const child of started.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = once(child, "exit");
        child.kill("SIGKILL");
        await gone;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps a call's effect and its idempotency across a SIGKILL: the repeat after restart replays it", async () => {
    const dbPath = join(dir, "payments.db");
    const first = await startProcess(["payments", "--port", "0", "--db", dbPath]);
    expect(first.stdout()).toBe(`payments listening on ${first.url}\n`);
    const reserved = await reserve(first.url, "saga-1:ReservePayment");
    expect(reserved.status).toBe(201);
    const output = (await reserved.json()) as { paymentId: string };
    first.child.kill("SIGKILL");
    expect(await first.exited).toEqual([null, "SIGKILL"]);

    const second = await startProcess(["payments", "--port", "0", "--db", dbPath]);
    const repeated = await reserve(second.url, "saga-1:ReservePayment");
    expect(repeated.status).toBe(201);
    expect(await repeated.json()).toEqual(output);
    const ledger = (await (await fetch(`${second.url}/ledger`)).json()) as ServiceLedger;
    expect(ledger.orders).toEqual([{ orderId: "order-123", status: "reserved", bookings: 1, replays: 1 }]);

    second.child.kill("SIGTERM");
    expect(await second.exited).toEqual([0, null]);
  });

  it("on SIGTERM lets an in-flight call finish, then exits 0", async () => {
    const service = await startProcess(["inventory", "--port", "0", "--db", join(dir, "inventory.db"), "--step-delay-ms", "500"]);
    const inFlight = fetch(`${service.url}/reservations`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": "saga-1:ReserveInventory" },
      body: JSON.stringify({ orderId: "order-123", sku: "SKU-BOOK", quantity: 1 }),
    });
    // The participant logs the call on stderr as it starts it: only then is it surely in flight.
    await expect.poll(() => service.stderr(), { timeout: 10_000 }).toContain("[Inventory] reserving inventory for order order-123");
    service.child.kill("SIGTERM");
    const res = await inFlight;
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ sku: "SKU-BOOK", quantity: 1 });
    expect(await service.exited).toEqual([0, null]);
  });

  it("exits 2 with the usage when --db is missing", async () => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/examples/services/main.ts", "payments", "--port", "0"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    started.push(child);
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const [code] = (await once(child, "exit")) as [number | null];
    expect(code).toBe(2);
    expect(stderr).toContain("--db is required");
    expect(stderr).toContain("usage:");
  });
});
