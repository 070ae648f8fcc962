import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors.js";
import { ParticipantServiceName, parseServiceArgs, startParticipantService } from "../../src/examples/services/index.js";
import { expectProblem, post, readLedger, useServiceApps } from "./service-fixtures.js";

describe("every participant service", () => {
  const apps = useServiceApps();

  it.each(Object.values(ParticipantServiceName))("%s answers /healthz and an empty /ledger on a new file", async (service) => {
    const app = await apps.open(service);
    const health = await app.inject({ method: "GET", url: "/healthz" });
    expect(health.statusCode).toBe(200);
    expect(health.json()).toEqual({ status: "ok", service });
    const ledger = await readLedger(app);
    expect(ledger.service).toBe(service);
    expect(ledger.orders).toEqual([]);
  });

  it.each(Object.values(ParticipantServiceName))("%s answers an unknown route with 404 problem+json", async (service) => {
    const app = await apps.open(service);
    expectProblem(await app.inject({ method: "GET", url: "/sagas" }), 404, "NOT_FOUND");
  });

  it("refuses malformed JSON and a missing body with 400 problem+json", async () => {
    const app = await apps.open("inventory");
    const malformed = await app.inject({
      method: "POST",
      url: "/reservations",
      headers: { "idempotency-key": "k1", "content-type": "application/json" },
      payload: '{"orderId": ',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expectProblem(await app.inject({ method: "POST", url: "/reservations", headers: { "idempotency-key": "k1" } }), 400, "VALIDATION_FAILED", "body");
  });

  it("keeps each service's books in its own WAL-mode SQLite file", async () => {
    const payments = await apps.open("payments");
    const shipping = await apps.open("shipping");
    await post(payments, "/payments", { orderId: "order-123", customerId: "c", amountCents: 1, paymentMethod: "card" }, "s1:ReservePayment");
    expect((await readLedger(payments)).orders).toHaveLength(1);
    expect((await readLedger(shipping)).orders).toEqual([]);
    const file = new Database(join(apps.dir(), "payments.db"), { readonly: true });
    try {
      expect(file.pragma("journal_mode", { simple: true })).toBe("wal");
      expect(file.prepare("SELECT COUNT(*) AS n FROM demo_payments").get()).toEqual({ n: 1 });
    } finally {
      file.close();
    }
  });

  it("waits --step-delay-ms before a state-changing call", async () => {
    const app = await apps.open("inventory", { stepDelayMs: 200 });
    const started = performance.now();
    const res = await post(app, "/reservations", { orderId: "o1", sku: "SKU-MUG", quantity: 1 }, "s1:ReserveInventory");
    expect(res.statusCode).toBe(201);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it("writes the participant's log lines where it is told", async () => {
    const lines: string[] = [];
    const app = await apps.open("payments", { log: (line) => lines.push(line) });
    await post(app, "/payments", { orderId: "order-123", customerId: "c", amountCents: 1, paymentMethod: "card" }, "s1:ReservePayment");
    expect(lines).toEqual(["[Payment] reserving payment for order order-123"]);
  });
});

describe("startParticipantService", () => {
  const apps = useServiceApps();

  it("serves over real HTTP on 127.0.0.1 with the port it bound, and stops on close()", async () => {
    const running = await startParticipantService({ service: "shipping", dbPath: join(apps.dir(), "shipping.db") });
    let closed = false;
    try {
      expect(running.url).toBe(`http://127.0.0.1:${running.port}`);
      expect(running.port).toBeGreaterThan(0);
      const res = await fetch(`${running.url}/shipments`, {
        method: "POST",
        headers: { "content-type": "application/json", "idempotency-key": "s1:ShipOrder" },
        body: JSON.stringify({ orderId: "order-123", paymentId: "pay_1", stockReservationId: "stk_1", address: { city: "Lyon", country: "FR" } }),
      });
      expect(res.status).toBe(201);
      expect(await res.json()).toEqual({ shipmentId: expect.stringMatching(/^shp_/) as string });
      await running.close();
      closed = true;
      await expect(fetch(`${running.url}/healthz`)).rejects.toThrow();
    } finally {
      if (!closed) await running.close();
    }
  });

  it("fails to start on a port already taken, and leaves that service running", async () => {
    const first = await startParticipantService({ service: "payments", dbPath: join(apps.dir(), "a.db") });
    try {
      await expect(startParticipantService({ service: "payments", dbPath: join(apps.dir(), "b.db"), port: first.port })).rejects.toThrow(/EADDRINUSE/);
      expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    } finally {
      await first.close();
    }
  });
});

describe("parseServiceArgs", () => {
  it("reads the service, --db, --port and --step-delay-ms", () => {
    expect(parseServiceArgs(["inventory", "--port", "8082", "--db", "inv.db", "--step-delay-ms", "25"])).toEqual({
      service: "inventory",
      dbPath: "inv.db",
      port: 8082,
      stepDelayMs: 25,
    });
    expect(parseServiceArgs(["payments", "--db", "p.db"])).toMatchObject({ port: 0, stepDelayMs: 0 });
  });

  it.each([
    [["billing", "--db", "x.db"], "service"],
    [["payments"], "--db"],
    [["payments", "--db", "x.db", "--port", "70000"], "--port"],
    [["payments", "--db", "x.db", "--port=-1"], "--port"],
    [["payments", "--db", "x.db", "--step-delay-ms", "fast"], "--step-delay-ms"],
    [["payments", "--db", "x.db", "--verbose"], "arguments"],
    [["payments", "shipping", "--db", "x.db"], "arguments"],
  ])("refuses %j naming %s", (argv, field) => {
    let thrown: unknown;
    try {
      parseServiceArgs(argv);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidArgumentError);
    expect((thrown as InvalidArgumentError).field).toBe(field);
  });
});

describe("a participant's SQLite file", () => {
  it("syncs every commit (WAL with synchronous FULL), so an answered booking survives a power cut", async () => {
    const { openParticipantDb } = await import("../../src/examples/order/index.js");
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const dir = mkdtempSync(join(tmpdir(), "sagaflow-participant-sync-"));
    try {
      const db = await openParticipantDb({ kind: "sqlite", path: join(dir, "p.db") });
      try {
        expect(await db.query<{ synchronous: number }>("PRAGMA synchronous")).toEqual([{ synchronous: 2 }]);
        expect(await db.query<{ journal_mode: string }>("PRAGMA journal_mode")).toEqual([{ journal_mode: "wal" }]);
      } finally {
        await db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
