import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { SagaState } from "../../src/index.js";
import type { OrderInput } from "../../src/examples/order/index.js";
import type { ServiceLedger } from "../../src/examples/services/service-ledger.js";
import { REPO_ROOT } from "../support/cli-process.js";

const dir = mkdtempSync(join(tmpdir(), "sagaflow-http-crash-"));
const running = new Set<ChildProcess>();
afterAll(() => {
  for (const child of running) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a TypeScript entry point as its own process and resolves with the first match of `ready` in its output. */
async function launch(args: readonly string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; match: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  child.once("exit", () => running.delete(child));
  const match = await new Promise<string>((resolve, reject) => {
    let output = "";
    const look = (chunk: Buffer): void => {
      output += chunk.toString();
      const found = ready.exec(output)?.[1];
      if (found !== undefined) resolve(found);
    };
    child.stdout?.on("data", look);
    child.stderr?.on("data", look);
    child.once("exit", (code) => reject(new Error(`${args.join(" ")} exited ${String(code)} before it was ready:\n${output}`)));
  });
  return { child, match };
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
}

const SERVICES = ["payments", "inventory", "shipping"] as const;
type Service = (typeof SERVICES)[number];

function service(name: Service, port: number, where = dir): Promise<{ child: ChildProcess; match: string }> {
  // Each call takes a while, so the kills below land while sagas are in the middle of their steps.
  return launch(["src/examples/services/main.ts", name, "--db", join(where, `${name}.db`), "--port", String(port), "--step-delay-ms", "40"], new RegExp(`${name} listening on (http://\\S+)`));
}

function server(port: number, urls: Record<Service, string>, where = dir): Promise<{ child: ChildProcess; match: string }> {
  return launch(
    ["src/cli/main.ts", "server", "--db", join(where, "orchestrator.db"), "--port", String(port), "--definitions", "examples/order", "--lease-ms", "1000", "--log-level", "warn"],
    /API at (http:\/\/\S+\/api\/v1)/,
    { PAYMENTS_URL: urls.payments, INVENTORY_URL: urls.inventory, SHIPPING_URL: urls.shipping },
  );
}

const portOf = (url: string): number => Number(new URL(url).port);

function orders(count: number): OrderInput[] {
  return Array.from({ length: count }, (_, i) => ({
    orderId: `crash-${i}`,
    customerId: `customer-${i % 7}`,
    amountCents: 100 + i,
    paymentMethod: "card" as const,
    // Every third order is refused by the warehouse, every fifth cannot be delivered: both are compensated.
    sku: i % 3 === 1 ? "SKU-DISCONTINUED" : "SKU-BOOK",
    quantity: 1,
    address: i % 5 === 4 ? { city: "Atlantis", country: "XX" } : { city: "Berlin", country: "DE" },
  }));
}

describe("the order example over HTTP, with a participant and the orchestrator SIGKILLed mid-run", () => {
  it("finishes every saga, and every participant's ledger agrees with it: nothing booked twice, nothing left behind", async () => {
    const urls = {} as Record<Service, string>;
    const children = {} as Record<Service, ChildProcess>;
    for (const name of SERVICES) {
      const started = await service(name, 0);
      urls[name] = started.match;
      children[name] = started.child;
    }
    let orchestrator = await server(0, urls);
    const api = orchestrator.match;

    const planned = orders(30);
    for (const order of planned) {
      const response = await fetch(`${api}/sagas`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ definition: "order", input: order, idempotencyKey: order.orderId }),
      });
      expect(response.status).toBe(201);
    }

    // The warehouse dies mid-run and comes back on the same file and port…
    await new Promise((resolve) => setTimeout(resolve, 150));
    await kill(children.inventory);
    await new Promise((resolve) => setTimeout(resolve, 250));
    children.inventory = (await service("inventory", portOf(urls.inventory))).child;
    // …and then the orchestrator, which recovers the sagas it held once their leases run out.
    await new Promise((resolve) => setTimeout(resolve, 150));
    await kill(orchestrator.child);
    orchestrator = await server(portOf(api), urls);

    const settled = async (done: (status: string) => boolean = (status) => status !== "running" && status !== "compensating"): Promise<SagaState[]> => {
      let sagas: SagaState[] = [];
      for (let i = 0; i < 300; i++) {
        sagas = ((await (await fetch(`${api}/sagas?limit=100`)).json()) as { items: SagaState[] }).items;
        if (sagas.length === planned.length && sagas.every((s) => done(s.status))) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return sagas;
    };
    let sagas = await settled();
    expect(sagas).toHaveLength(planned.length);
    // A compensation whose retry budget ran out while the warehouse was down (a slow restart on a
    // busy machine) parks its saga failed; the operator retries it once everything is back up.
    const parked = sagas.filter((s) => s.status === "failed");
    for (const saga of parked) {
      expect(saga.outstanding?.every((o) => o.phase === "compensation"), JSON.stringify(saga.outstanding)).toBe(true);
      expect((await fetch(`${api}/sagas/${saga.id}/retry`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ reason: "warehouse is back", by: "test" }) })).status).toBe(202);
    }
    // A retried saga reads failed until a worker takes the retry, so wait for every saga to end otherwise.
    if (parked.length > 0) sagas = await settled((status) => status === "completed" || status === "compensated");
    expect(sagas.filter((s) => s.status === "failed").map((s) => s.outstanding)).toEqual([]);

    const ledgers = {} as Record<Service, ServiceLedger>;
    for (const name of SERVICES) ledgers[name] = (await (await fetch(`${urls[name]}/ledger`)).json()) as ServiceLedger;
    const entry = (name: Service, orderId: string): { status: string; bookings: number } => ledgers[name].orders.find((o) => o.orderId === orderId) ?? { status: "none", bookings: 0 };

    let completed = 0;
    for (const saga of sagas) {
      const { orderId, sku, address } = saga.input as unknown as OrderInput;
      for (const name of SERVICES) expect(entry(name, orderId).bookings, `${name} booked ${orderId} more than once`).toBeLessThanOrEqual(1);
      const books = [entry("payments", orderId).status, entry("inventory", orderId).status, entry("shipping", orderId).status];
      if (saga.status === "completed") {
        completed++;
        expect(books, orderId).toEqual(["reserved", "reserved", "created"]);
        expect(sku).toBe("SKU-BOOK");
        expect(address.country).toBe("DE");
      } else {
        expect(saga.status, orderId).toBe("compensated");
        expect(["none", "released"], `${orderId} payment ${books[0] ?? ""}`).toContain(books[0]);
        expect(["none", "released"], `${orderId} stock ${books[1] ?? ""}`).toContain(books[1]);
        expect(["none", "cancelled"], `${orderId} shipment ${books[2] ?? ""}`).toContain(books[2]);
      }
    }
    // The orders meant to fail did, and most of the rest went through despite the crashes.
    for (const saga of sagas) {
      const { sku, address } = saga.input as unknown as OrderInput;
      if (sku === "SKU-DISCONTINUED" || address.country === "XX") expect(saga.status).toBe("compensated");
    }
    expect(completed).toBeGreaterThan(0);
    // The crashes hit sagas mid-step: some call was retried, or found in doubt after the orchestrator died.
    const disturbed = sagas.filter((s) => s.recoveries > 0 || s.steps.some((step) => step.action.attempt > 1 || step.compensation.attempt > 1));
    expect(disturbed.length).toBeGreaterThan(0);

    for (const child of [orchestrator.child, ...Object.values(children)]) {
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  }, 120_000);
});

describe("a compensation a participant refuses for good, over HTTP", () => {
  it("parks the saga failed with the refund outstanding; once the operator lifts the hold, a retry compensates it", async () => {
    const where = join(dir, "held");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(where, { recursive: true });
    const urls = {} as Record<Service, string>;
    const children: ChildProcess[] = [];
    for (const name of SERVICES) {
      const started = await service(name, 0, where);
      urls[name] = started.match;
      children.push(started.child);
    }
    const orchestrator = await server(0, urls, where);
    children.push(orchestrator.child);
    const api = orchestrator.match;
    const post = (url: string, body: unknown): Promise<Response> =>
      fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

    // A refund under a fraud check, for an order the warehouse will refuse.
    expect((await post(`${urls.payments}/admin/holds`, { orderId: "held-1", reason: "fraud check" })).status).toBe(201);
    const [ok, held] = [orders(1)[0], { ...orders(2)[1], orderId: "held-1" }] as OrderInput[];
    const started = await Promise.all([ok, held].map((order) => post(`${api}/sagas`, { definition: "order", input: order, idempotencyKey: order?.orderId })));
    const [okId, heldId] = await Promise.all(started.map(async (response) => ((await response.json()) as SagaState).id));
    const settle = async (id: string | undefined, status: string): Promise<SagaState> => {
      for (let i = 0; i < 200; i++) {
        const saga = (await (await fetch(`${api}/sagas/${id ?? ""}`)).json()) as SagaState;
        if (saga.status === status) return saga;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`saga ${id ?? ""} never reached ${status}`);
    };
    expect((await settle(okId, "completed")).status).toBe("completed");
    const failed = await settle(heldId, "failed");
    expect(failed.outstanding).toEqual([{ step: "ReservePayment", phase: "compensation" }]);
    expect(failed.steps[0]?.compensation.lastError?.message).toContain("423");
    const ledger = async (): Promise<ServiceLedger> => (await (await fetch(`${urls.payments}/ledger`)).json()) as ServiceLedger;
    expect((await ledger()).orders.find((o) => o.orderId === "held-1")?.status).toBe("reserved");
    // The operator lifts the hold, then retries the saga.
    expect((await fetch(`${urls.payments}/admin/holds/held-1`, { method: "DELETE" })).status).toBe(200);
    const retried = await post(`${api}/sagas/${heldId ?? ""}/retry`, { reason: "fraud check cleared", by: "ops:ana" });
    expect(retried.status).toBe(202);
    expect((await settle(heldId, "compensated")).status).toBe("compensated");
    expect((await ledger()).orders.find((o) => o.orderId === "held-1")).toMatchObject({ status: "released", bookings: 1 });
    const history = (await (await fetch(`${api}/sagas/${heldId ?? ""}/history`)).json()) as { items: { type: string; by?: string }[] };
    expect(history.items).toContainEqual(expect.objectContaining({ type: "retry_requested", by: "ops:ana" }));

    for (const child of children.reverse()) {
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  }, 120_000);
});
