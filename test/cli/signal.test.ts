import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defineSaga, Orchestrator } from "../../src/index.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { runCli } from "../support/cli-process.js";

const dir = mkdtempSync(join(tmpdir(), "sagaflow-cli-signal-"));
const db = join(dir, "sagas.db");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const expense = defineSaga<{ amount: number }>({ name: "expense", version: 1 })
  .step("submit", { action: ({ input }) => ({ amount: input.amount }) })
  .waitStep<"approval", { approver: string }>("approval", { event: "manager-approved" })
  .step("pay", { action: ({ outputs }) => ({ approvedBy: outputs.approval.approver }) })
  .build();

async function orchestrator(): Promise<Orchestrator> {
  return Orchestrator.create({ store: await openSqliteStore({ path: db }), definitions: [expense], pollIntervalMs: 20 });
}

describe("sagaflow signal", () => {
  it("delivers an event to a waiting saga from another process; the next worker goes on with its payload; a repeat changes nothing", async () => {
    let o = await orchestrator();
    const { id } = await o.start(expense, { amount: 120 }, { id: "exp-1" });
    await expect.poll(async () => (await o.get(id)).steps[1]?.action.status).toBe("running");
    await o.close();

    const sent = await runCli(["signal", id, "manager-approved", "--data", '{"approver":"ana"}', "--by", "ops:ana", "--db", db]);
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stdout).toBe(`event manager-approved delivered to saga ${id}; a worker applies it with the saga's next step\n`);

    o = await orchestrator();
    const final = await o.waitFor(id);
    expect(final.status).toBe("completed");
    expect(final.steps[2]?.output).toEqual({ approvedBy: "ana" });
    expect(await o.history(id)).toContainEqual(expect.objectContaining({ type: "signal_received", name: "manager-approved", by: "ops:ana" }));
    await o.close();

    const again = await runCli(["signal", id, "manager-approved", "--data", '{"approver":"bo"}', "--db", db]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("already received event manager-approved");
  });

  it("exits 1 for a saga that ended or does not exist, and 2 for data that is not JSON or a bad name", async () => {
    const ended = await runCli(["signal", "exp-1", "late-news", "--db", db]);
    expect(ended.code).toBe(1);
    expect(ended.stderr).toMatch(/already ended completed/);
    const unknown = await runCli(["signal", "nobody", "manager-approved", "--db", db]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no saga with id "nobody"/);
    const badJson = await runCli(["signal", "exp-1", "manager-approved", "--data", "{nope", "--db", db]);
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toMatch(/--data must be JSON/);
    const badName = await runCli(["signal", "exp-1", "has space", "--db", db]);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/name must be letters/);
  });
});
