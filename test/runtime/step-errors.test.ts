// What a failed step's error keeps of its stack: the step's own frames, and none of the runtime's
// calls that led to it (the same for every failure, and stored with every copy of the error).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { defineSaga, Orchestrator, TerminalError, type ErrorInfo } from "../../src/index.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { createMemoryStore } from "../../src/testing/index.js";

function refuseToShip(reason: string): never {
  throw new TerminalError(`cannot ship: ${reason}`, { cause: new Error(`carrier says: ${reason}`) });
}

async function refuseLater(): Promise<never> {
  await new Promise((resolve) => setTimeout(resolve, 1));
  throw new TerminalError("cannot ship later");
}

const shop = defineSaga<{ how: "sync" | "sync-with-timeout" | "async" }>({ name: "shop", version: 1 })
  .step("reserve", { action: () => ({ reserved: true }), compensate: () => undefined })
  .step("ship", {
    action: ({ input }) => (input.how === "async" ? refuseLater() : refuseToShip(input.how)),
    retry: { maxAttempts: 1 },
  })
  .build();

const timed = defineSaga<{ how: "sync-with-timeout" }>({ name: "shop-timed", version: 1 })
  .step("ship", { action: ({ input }) => refuseToShip(input.how), retry: { maxAttempts: 1 }, timeoutMs: 5_000 })
  .build();

const opened: Orchestrator[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function failedError(definition: "shop" | "shop-timed", how: "sync" | "sync-with-timeout" | "async"): Promise<{ history: ErrorInfo; state: ErrorInfo | undefined; stop: ErrorInfo | undefined }> {
  const o = await Orchestrator.create({ store: createMemoryStore(), definitions: [shop, timed] });
  opened.push(o);
  const { id } = await o.start(definition, { how });
  const final = await o.waitFor(id);
  const failed = (await o.history(id)).find((entry) => entry.type === "attempt_failed");
  if (failed?.type !== "attempt_failed") throw new Error("no attempt_failed entry");
  const ship = final.steps.find((step) => step.name === "ship");
  return { history: failed.error, state: ship?.action.lastError, stop: final.stop?.error };
}

/** The frames of a stack, without its first line (name and message). */
const frames = (stack: string | undefined): string[] => (stack ?? "").split("\n").filter((line) => line.startsWith("    at "));

describe("a failed step's stack", () => {
  for (const [definition, how] of [
    ["shop", "sync"],
    ["shop-timed", "sync-with-timeout"],
  ] as const) {
    it(`keeps the step's frames and leaves out the runtime's (${how})`, async () => {
      const { history, state, stop } = await failedError(definition, how);
      expect(history.message).toBe(`cannot ship: ${how}`);
      const kept = frames(history.stack);
      expect(kept[0]).toContain("refuseToShip");
      expect(kept.some((frame) => frame.includes("step-errors.test.ts"))).toBe(true);
      for (const internal of ["runPhase", "runtime/execute-step.", "runtime/saga-driver.", "runtime/committer.", "runtime/worker."]) {
        expect(history.stack).not.toContain(internal);
        expect(history.cause?.stack).not.toContain(internal);
      }
      expect(frames(history.cause?.stack)[0]).toContain("refuseToShip");
      expect(state).toEqual(history);
      expect(stop).toEqual(history);
    });
  }

  it("keeps a stack that does not pass through the runtime whole (a step failing after an await)", async () => {
    const { history } = await failedError("shop", "async");
    expect(history.message).toBe("cannot ship later");
    expect(frames(history.stack)[0]).toContain("refuseLater");
  });

  it("is stored once in a stopped saga's state and in the write that gave up, and read back where it was", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sagaflow-step-errors-"));
    dirs.push(dir);
    const path = join(dir, "sagas.db");
    const o = await Orchestrator.create({ store: await openSqliteStore({ path }), definitions: [shop] });
    opened.push(o);
    const { id } = await o.start("shop", { how: "sync" });
    expect((await o.waitFor(id)).status).toBe("compensated");
    await o.close();

    const raw = new Database(path, { readonly: true });
    const { state_json: json } = raw.prepare("SELECT state_json FROM saga_instances WHERE id = ?").get(id) as { state_json: string };
    const history = raw.prepare("SELECT entries_json FROM saga_history WHERE saga_id = ? ORDER BY seq").all(id) as Array<{ entries_json: string }>;
    raw.close();
    const failingWrite = history.map((row) => row.entries_json).find((text) => text.includes('"phase_gave_up"'));
    expect(failingWrite).toContain('"errorAsBefore":true');
    expect(failingWrite?.split("cannot ship: sync").length).toBe(1 + 2);
    expect(json.split("cannot ship: sync").length - 1).toBe(1 + 1); // the message, and the stack's first line
    expect(json).toContain('"errorOf":"action"');

    const reopened = await Orchestrator.create({ store: await openSqliteStore({ path }), definitions: [shop] });
    opened.push(reopened);
    const read = await reopened.get(id);
    expect(read.stop?.error?.message).toBe("cannot ship: sync");
    expect(read.stop?.error).toEqual(read.steps[1]?.action.lastError);
    const entries = await reopened.history(id);
    const failure = entries.find((entry) => entry.type === "attempt_failed");
    const gaveUp = entries.find((entry) => entry.type === "phase_gave_up");
    expect(gaveUp?.type === "phase_gave_up" ? gaveUp.error : undefined).toEqual(failure?.type === "attempt_failed" ? failure.error : "no failure");
    expect(gaveUp).not.toHaveProperty("errorAsBefore");
  });
});
