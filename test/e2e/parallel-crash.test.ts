// SIGKILLs a worker, again and again, while trips run through a parallel group, a durable sleep
// and an approval event delivered before they waited for it; a last worker finishes them. Then
// every trip must have ended as its input says, and the participants' ledger must agree: every
// booking of a completed trip took effect once and stands, every booking of a rolled-back trip
// was undone, and nothing ran after a failed parallel sibling.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { openSqliteStore } from "../../src/store/sqlite/index.js";

const TRIPS = 40;
const dir = mkdtempSync(join(tmpdir(), "sagaflow-parallel-crash-"));
const db = join(dir, "sagas.db");
const ledgerPath = join(dir, "ledger.db");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FIXTURE = "test/fixtures/travel-worker.ts";

describe("parallel groups, sleeps and events through repeated SIGKILLs", () => {
  it("ends every trip as its input says, with the ledger in agreement", { timeout: 120_000 }, async () => {
    const started = spawnSync(process.execPath, ["--import", "tsx", FIXTURE, "start", db, ledgerPath, String(TRIPS)], { encoding: "utf8", timeout: 60_000 });
    expect(started.status, started.stderr).toBe(0);

    let kills = 0;
    for (let round = 0; round < 5; round++) {
      const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, "work", db, ledgerPath], { stdio: ["ignore", "pipe", "pipe"] });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
      // Long enough for tsx to start and the worker to be inside some of the trips.
      await new Promise((resolve) => setTimeout(resolve, 500 + Math.floor(Math.random() * 600)));
      child.kill("SIGKILL");
      const result = await exited;
      if (result.signal === "SIGKILL") kills++;
      else break; // it finished everything before the kill
    }
    expect(kills).toBeGreaterThanOrEqual(1);

    const last = spawnSync(process.execPath, ["--import", "tsx", FIXTURE, "work", db, ledgerPath], { encoding: "utf8", timeout: 90_000 });
    expect(last.status, last.stderr).toBe(0);
    expect(last.stdout).toContain("done");

    const store = await openSqliteStore({ path: db });
    const ledger = new Database(ledgerPath, { readonly: true });
    try {
      const effects = new Map(ledger.prepare("SELECT key, kind, undone FROM effects").all().map((row) => {
        const { key, kind, undone } = row as { key: string; kind: string; undone: number };
        return [key, { kind, undone }];
      }));
      let inDoubt = 0;
      for (let i = 0; i < TRIPS; i++) {
        const id = `trip-${i}`;
        const record = await store.getInstance(id);
        const history = await store.getHistory(id);
        inDoubt += history.filter((entry) => entry.type === "attempt_in_doubt").length;
        expect(history.filter((entry) => entry.type === "saga_ended"), id).toHaveLength(1);
        if (i % 4 === 3) {
          // The car was refused: flight and hotel (which finished, onFailure wait) are undone; nothing after the group ran.
          expect(record?.state.status, id).toBe("compensated");
          for (const step of ["flight", "hotel"]) expect(effects.get(`${id}:${step}`), `${id}:${step}`).toEqual({ kind: step, undone: 1 });
          expect(effects.has(`${id}:car`), `${id}:car`).toBe(false);
          expect(effects.has(`${id}:pay`), `${id}:pay`).toBe(false);
          expect(record?.state.steps.find((s) => s.name === "cool-off")?.action.status).toBe("pending");
        } else {
          expect(record?.state.status, id).toBe("completed");
          for (const step of ["flight", "hotel", "car", "pay"]) expect(effects.get(`${id}:${step}`), `${id}:${step}`).toEqual({ kind: step, undone: 0 });
          expect(record?.state.steps.find((s) => s.name === "approval")?.output).toEqual({ by: "manager" });
          expect(record?.state.signals?.map((s) => s.consumedBy)).toEqual(["approval"]);
        }
      }
      // Every booking in the ledger belongs to a trip and a step of it.
      expect([...effects.keys()].every((key) => /^trip-\d+:(flight|hotel|car|pay)$/.test(key))).toBe(true);
      // The kills landed inside trips at least sometimes (otherwise this test would prove little).
      expect(inDoubt + kills).toBeGreaterThan(1);
    } finally {
      ledger.close();
      await store.close();
    }
  });
});
