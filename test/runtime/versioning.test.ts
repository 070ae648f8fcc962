import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { defineSaga, Orchestrator, type Logger } from "../../src/index.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";

/** A logger that keeps what it is told. */
function recordingLogger(): Logger & { lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> } {
  const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => void lines.push({ level, msg, fields });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

const v1 = defineSaga<null>({ name: "order", version: 1 })
  .step("pay", { action: () => ({ paid: true }), compensate: () => undefined })
  .waitStep("approve")
  .step("ship", { action: () => ({ shipped: true }) })
  .build();
/** order@1 again, but with a step added: a deploy that changed the steps without a new version. */
const v1Changed = defineSaga<null>({ name: "order", version: 1 })
  .step("pay", { action: () => ({ paid: true }), compensate: () => undefined })
  .step("fraud-check", { action: () => ({ ok: true }) })
  .waitStep("approve")
  .step("ship", { action: () => ({ shipped: true }) })
  .build();
const v2 = defineSaga<null>({ name: "order", version: 2 })
  .step("pay", { action: () => ({ paid: true }) })
  .build();

const dirs: string[] = [];
const opened: Orchestrator[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((o) => o.close()));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function open(path: string, definitions: Parameters<typeof Orchestrator.create>[0]["definitions"], logger?: Logger): Promise<Orchestrator> {
  const o = await Orchestrator.create({ store: await openSqliteStore({ path }), definitions, pollIntervalMs: 20, leaseMs: 300, ...(logger === undefined ? {} : { logger }) });
  opened.push(o);
  return o;
}

function file(): string {
  const dir = mkdtempSync(join(tmpdir(), "sagaflow-versions-"));
  dirs.push(dir);
  return join(dir, "sagas.db");
}

describe("versions of a code saga", () => {
  it("pin each instance to the shape it started with: a worker whose name@version has other steps does not run it", async () => {
    const path = file();
    const first = await open(path, [v1]);
    const { id } = await first.start(v1, null, { id: "o-1" });
    expect((await first.get(id)).definitionHash).toMatch(/^[0-9a-f]{16}$/);
    await expect.poll(async () => (await first.get(id)).steps[1]?.action.status).toBe("running");
    await first.close();
    // An answer arrives while no worker runs: it waits in the inbox for the next claim.
    const answering = await Orchestrator.create({ store: await openSqliteStore({ path }), definitions: [v1], worker: false });
    await answering.completeStep(id, "approve", { by: "ops" });
    await answering.close();

    // The answer is in the inbox; a worker with the changed steps claims the saga but runs nothing.
    const logger = recordingLogger();
    const changed = await open(path, [v1Changed], logger);
    await expect.poll(() => logger.lines.some((l) => l.level === "error" && l.msg.includes("another shape")), { timeout: 5_000 }).toBe(true);
    const untouched = await changed.get(id);
    expect(untouched.steps[1]?.action.status).toBe("running");
    expect(untouched.status).toBe("running");
    expect(untouched.steps.map((s) => s.name)).toEqual(["pay", "approve", "ship"]);
    expect((await changed.history(id)).some((h) => h.type === "attempt_succeeded" && h.step === "approve")).toBe(false);
    await changed.close();

    // The right code finishes it.
    const right = await open(path, [v1]);
    expect((await right.waitFor(id, 10_000)).status).toBe("completed");
  });

  it("say at start-up which versions unfinished sagas need, and warn about one this worker does not run (its sagas wait)", async () => {
    const path = file();
    const old = await open(path, [v1]);
    await old.start(v1, null, { id: "o-old" });
    await expect.poll(async () => (await old.get("o-old")).steps[1]?.action.status).toBe("running");
    await old.close();

    const logger = recordingLogger();
    const next = await open(path, [v2], logger);
    const info = logger.lines.find((l) => l.msg.startsWith("definition versions this worker runs"));
    expect(info?.fields).toMatchObject({ runs: ["order@2"], unfinished: ["order@1: 1"] });
    const warning = logger.lines.find((l) => l.level === "warn" && l.fields.definition === "order@1");
    expect(warning?.fields.examples).toEqual(["o-old"]);
    expect(warning?.msg).toBe("1 unfinished saga(s) of order@1 wait for a worker that runs that version; this one does not, so it leaves them alone");
    // New starts by name take the newest version; the old saga is left waiting, not run with v2.
    const { id } = await next.start("order", null);
    expect((await next.waitFor(id)).definitionVersion).toBe(2);
    expect((await next.get("o-old")).steps.map((s) => s.action.status)).toEqual(["succeeded", "running", "pending"]);
  });
});

const v2WithCheck = defineSaga<null>({ name: "order", version: 2 })
  .step("pay", { action: () => ({ paid: true }), compensate: () => undefined })
  .waitStep("approve")
  .step("fraud-check", { action: () => ({ ok: true }) })
  .step("ship", { action: () => ({ shipped: "v2" }) })
  .build();
const v3Renamed = defineSaga<null>({ name: "order", version: 3 })
  .step("pay", { action: () => ({ paid: true }), compensate: () => undefined })
  .waitStep("approval")
  .step("ship", { action: () => ({ shipped: "v3" }) })
  .build();

describe("moving a running saga onto a new version", () => {
  it("moves a waiting saga whose reached steps line up; it goes on with the new version's steps", async () => {
    const path = file();
    const o = await open(path, [v1, v2WithCheck, v3Renamed]);
    const { id } = await o.start(v1, null, { id: "m-1" });
    await expect.poll(async () => (await o.get(id)).steps[1]?.action.status).toBe("running");

    await expect(o.migrate(id, 3, { reason: "x" })).rejects.toThrow(/its step 2 is "approve", and version 3 has "approval" there/);
    await expect(o.migrate(id, 9, { reason: "x" })).rejects.toMatchObject({ code: "UNKNOWN_DEFINITION" });
    await expect(o.migrate(id, 2, { reason: "" })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });

    const moved = await o.migrate(id, 2, { reason: "fraud check required from today", by: "ops:ana" });
    expect(moved.definitionVersion).toBe(2);
    expect(moved.steps.map((s) => [s.name, s.action.status])).toEqual([
      ["pay", "succeeded"],
      ["approve", "running"],
      ["fraud-check", "pending"],
      ["ship", "pending"],
    ]);
    await o.completeStep(id, "approve", true);
    const final = await o.waitFor(id);
    expect(final.status).toBe("completed");
    expect(final.steps[3]?.output).toEqual({ shipped: "v2" });
    expect(await o.history(id)).toContainEqual(expect.objectContaining({ type: "migrated", fromVersion: 1, toVersion: 2, by: "ops:ana" }));
    await expect(o.migrate(id, 1, { reason: "back" })).rejects.toThrow(/already ended completed/);
  });

  it("refuses to move a saga whose step is running right now", async () => {
    let finish: () => void = () => {};
    const slow = defineSaga<null>({ name: "slow", version: 1 })
      .step("work", { action: () => new Promise<null>((resolve) => (finish = () => resolve(null))) })
      .build();
    const slow2 = defineSaga<null>({ name: "slow", version: 2 })
      .step("work", { action: () => null })
      .step("more", { action: () => null })
      .build();
    const o = await open(file(), [slow, slow2]);
    const { id } = await o.start(slow, null);
    await expect.poll(async () => (await o.get(id)).steps[0]?.action.status).toBe("running");
    await expect(o.migrate(id, 2, { reason: "x" })).rejects.toThrow(/a worker is running one of its steps right now/);
    finish();
    expect((await o.waitFor(id)).status).toBe("completed");
  });
});
