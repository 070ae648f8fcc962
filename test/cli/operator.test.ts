import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineSaga, Orchestrator, TerminalError } from "../../src/index.js";
import { openSqliteStore } from "../../src/store/sqlite/index.js";
import { runCli } from "../support/cli-process.js";

const dir = mkdtempSync(join(tmpdir(), "sagaflow-cli-operator-"));
const db = join(dir, "sagas.db");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const refunds = { broken: true };
const order = defineSaga<{ fail: boolean; slow?: boolean }>({ name: "order", version: 1 })
  .step("charge", {
    action: () => ({ charged: true }),
    compensate: () => {
      if (refunds.broken) throw new TerminalError("refund API is down");
    },
  })
  .waitStep("approval", { compensate: () => undefined })
  .step("ship", {
    action: ({ input }) => {
      if (input.fail) throw new TerminalError("no courier");
      return null;
    },
  })
  .build();

async function orchestrator(): Promise<Orchestrator> {
  return Orchestrator.create({ store: await openSqliteStore({ path: db }), definitions: [order], pollIntervalMs: 20 });
}

/** Runs a worker on the file until the saga's state satisfies `done`. */
async function workUntil(id: string, done: (status: string) => boolean): Promise<string> {
  const o = await orchestrator();
  try {
    await expect.poll(async () => (await o.get(id)).status, { timeout: 10_000 }).toSatisfy(done);
    return (await o.get(id)).status;
  } finally {
    await o.close();
  }
}

/** Polls until `check` holds (expect.poll is for tests, and this runs before them). */
async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("the sagas did not get where the tests need them within 10 s");
}

beforeAll(async () => {
  const o = await orchestrator();
  // One saga failed with the refund outstanding, one waiting for approval (running).
  await o.start(order, { fail: true }, { id: "failed-1" });
  await o.start(order, { fail: true }, { id: "failed-2" });
  await o.start(order, { fail: false }, { id: "waiting-1" });
  for (const id of ["failed-1", "failed-2"]) {
    await until(async () => (await o.get(id)).steps[1]?.action.status === "running");
    await o.completeStep(id, "approval", null);
    await o.waitFor(id);
  }
  await until(async () => (await o.get("waiting-1")).steps[1]?.action.status === "running");
  await o.close();
});

describe("sagaflow cancel, retry, skip and resolve", () => {
  it("skip --reason counts a failed saga's outstanding compensation as done; the saga then ends compensated", async () => {
    const noReason = await runCli(["skip", "failed-1", "charge", "--db", db]);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/--reason/);
    const wrongStep = await runCli(["skip", "failed-1", "ship", "--reason", "x", "--db", db]);
    expect(wrongStep.code).toBe(1);
    expect(wrongStep.stderr).toMatch(/not outstanding \(outstanding: charge \(compensation\)\)/);

    const skipped = await runCli(["skip", "failed-1", "charge", "--reason", "refunded by hand, OPS-42", "--by", "ops:ana", "--db", db]);
    expect(skipped.code, skipped.stderr).toBe(0);
    expect(skipped.stdout).toMatch(/^compensation skip requested for saga failed-1 \(step charge\)/);
    expect(await workUntil("failed-1", (status) => status === "compensated")).toBe("compensated");
    const shown = await runCli(["show", "failed-1", "--db", db]);
    expect(shown.stdout).toContain("charge compensation skipped by ops:ana: refunded by hand, OPS-42");
  });

  it("resolve --reason keeps the saga failed with who and why; retry reopens one once the cause is fixed", async () => {
    const resolved = await runCli(["resolve", "failed-2", "--reason", "settled by bank transfer", "--db", db]);
    expect(resolved.code, resolved.stderr).toBe(0);
    await workUntil("failed-2", () => true);
    const o = await orchestrator();
    await expect.poll(async () => (await o.get("failed-2")).resolution?.reason, { timeout: 10_000 }).toBe("settled by bank transfer");
    expect((await o.get("failed-2")).status).toBe("failed");
    await o.close();
    const again = await runCli(["resolve", "failed-2", "--reason", "again", "--db", db]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already marked it resolved/);

    refunds.broken = false;
    const retried = await runCli(["retry", "failed-2", "--reason", "refund API is back", "--db", db]);
    expect(retried.code, retried.stderr).toBe(0);
    expect(await workUntil("failed-2", (status) => status === "compensated")).toBe("compensated");
  });

  it("cancel rolls a running saga back; cancel of an ended saga and retry of a saga that did not fail exit 1", async () => {
    const cancelled = await runCli(["cancel", "waiting-1", "--reason", "customer changed their mind", "--db", db]);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(await workUntil("waiting-1", (status) => status === "compensated")).toBe("compensated");
    const late = await runCli(["cancel", "waiting-1", "--db", db]);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/already ended compensated/);
    const notFailed = await runCli(["retry", "waiting-1", "--db", db]);
    expect(notFailed.code).toBe(1);
    expect(notFailed.stderr).toMatch(/only a failed saga is retried/);
    const abortEnded = await runCli(["abort", "waiting-1", "--reason", "x", "--db", db]);
    expect(abortEnded.code).toBe(1);
    expect(abortEnded.stderr).toMatch(/cannot abort saga waiting-1: it already ended compensated/);
    const unknown = await runCli(["resolve", "nobody", "--reason", "x", "--db", db]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no saga with id "nobody"/);
  });
});
