// The dashboard in a real browser: Debian's Chromium driven by playwright-core against
// `sagaflow server` with the example participant services (the `npm start` setup, every part its
// own process), serving a dashboard built from this checkout's sources for the run.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEED_ORDERS } from "../../src/examples/order/order-generator.js";
import { startQuickstart, type Quickstart } from "../../src/examples/quickstart/launch.js";
import { defineSaga, Orchestrator, type SagaState } from "../../src/index.js";
import { createServer } from "../../src/server/index.js";
import { createMemoryStore } from "../../src/testing/index.js";
import { findChromium, launchChromium } from "../support/chromium.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** Kept by CI as artifacts: what the overview, the list and a compensated saga looked like. */
const SCREENSHOTS = join(ROOT, "test-results", "dashboard");
/** Long enough to find the saga in ShipOrder and cancel it from the page, on a busy machine too. */
const SHIPPING_DELAY_MS = 6_000;

const found = findChromium();
if ("missing" in found) {
  if (process.env.CI === "true") throw new Error(`the dashboard's browser tests need Chromium in CI: ${found.missing}`);
  console.warn(`\n[sagaflow tests] SKIPPING the dashboard's browser tests: ${found.missing}\n`);
}
const chromiumPath = "path" in found ? found.path : "";

let buildDir: string;
let dataDir: string;
let browser: Browser | undefined;
let running: Quickstart | undefined;

beforeAll(async () => {
  if (chromiumPath === "") return;
  buildDir = mkdtempSync(join(tmpdir(), "sagaflow-dashboard-e2e-build-"));
  dataDir = mkdtempSync(join(tmpdir(), "sagaflow-dashboard-e2e-"));
  mkdirSync(SCREENSHOTS, { recursive: true });
  // The production build of this checkout's dashboard, as `npm run build:dashboard` makes it.
  const vite = join(ROOT, "node_modules", "vite", "bin", "vite.js");
  const built = spawnSync(process.execPath, [vite, "build", "--config", "dashboard/vite.config.ts", "--outDir", buildDir, "--emptyOutDir", "--logLevel", "warn"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (built.status !== 0) throw new Error(`vite build of the dashboard failed:\n${built.stdout}\n${built.stderr}`);
  browser = await launchChromium(chromiumPath);
  running = await startQuickstart({ dir: dataDir, port: 0, print: () => {}, stepDelayMs: { shipping: SHIPPING_DELAY_MS }, dashboardDirectory: buildDir });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await running?.stop();
  if (buildDir !== undefined) rmSync(buildDir, { recursive: true, force: true });
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

/** A fresh page that fails the test on any script error or failed request the app makes. */
async function openPage(): Promise<{ page: Page; problems: string[] }> {
  if (browser === undefined) throw new Error("no browser");
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    // Chromium asks for /favicon.ico on its own; a 404 for it is not the app's.
    if (message.type() === "error" && !message.text().includes("favicon")) problems.push(`console: ${message.text()}`);
  });
  page.on("requestfailed", (request) => {
    // The app aborts its own polls when a page or filter changes, and the browser aborts what is in flight when the page closes.
    const reason = request.failure()?.errorText ?? "";
    if (reason !== "net::ERR_ABORTED") problems.push(`request failed: ${request.url()} ${reason}`);
  });
  return { page, problems };
}

function seedIds(): { completed: SagaState; compensated: SagaState } {
  const [completed, compensated] = running?.outcomes ?? [];
  if (completed === undefined || compensated === undefined) throw new Error("the quickstart did not run the seed's orders");
  return { completed, compensated };
}

async function sagaNow(id: string): Promise<SagaState> {
  const response = await fetch(`${running?.api ?? ""}/sagas/${encodeURIComponent(id)}`);
  expect(response.status).toBe(200);
  return (await response.json()) as SagaState;
}

describe.skipIf(chromiumPath === "")("the dashboard in Chromium", () => {
  it("overview: counts by status, the last hour's activity, and no failed saga needing attention", async () => {
    const { page, problems } = await openPage();
    await page.goto(running?.dashboard ?? "");
    await expect.poll(() => page.getByTestId("count-completed").textContent(), { timeout: 15_000 }).toBe("1");
    expect(await page.getByTestId("count-compensated").textContent()).toBe("1");
    expect(await page.getByTestId("count-failed").textContent()).toBe("0");
    expect(await page.locator("svg").count()).toBeGreaterThanOrEqual(2);
    await page.screenshot({ path: join(SCREENSHOTS, "overview.png"), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it("list: both seed sagas with their statuses and definition, found again by idempotency key", async () => {
    const { completed, compensated } = seedIds();
    const { page, problems } = await openPage();
    await page.goto(`${running?.dashboard ?? ""}#/sagas`);
    const row = (id: string) => page.locator(`tr[data-saga-id="${id}"]`);
    await expect.poll(() => row(completed.id).getByTestId("status").textContent(), { timeout: 15_000 }).toBe("completed");
    expect(await row(compensated.id).getByTestId("status").textContent()).toBe("compensated");
    expect(await row(completed.id).getByTestId("definition").textContent()).toBe("order@1");
    expect(await row(compensated.id).getByTestId("current-step").textContent()).toBe("—");
    await page.screenshot({ path: join(SCREENSHOTS, "list.png"), fullPage: true });

    // The status filter narrows the list, and is kept in the address.
    await page.locator("#status-filter").selectOption("compensated");
    await expect.poll(() => page.locator("tr[data-saga-id]").count(), { timeout: 10_000 }).toBe(1);
    expect(await row(compensated.id).count()).toBe(1);
    expect(page.url()).toContain("compensated");

    // Searching by idempotency key (the order id) finds the one saga it started.
    await page.locator("#status-filter").selectOption({ index: 0 });
    await page.locator("#search").fill("order-123");
    await page.locator("#search").press("Enter");
    await expect.poll(() => page.locator("tr[data-saga-id]").count(), { timeout: 10_000 }).toBe(1);
    expect(await row(completed.id).count()).toBe(1);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("detail: the compensated saga's timeline shows ReserveInventory failing and the payment's compensation after it", async () => {
    const { compensated } = seedIds();
    const { page, problems } = await openPage();
    await page.goto(`${running?.dashboard ?? ""}#/sagas/${encodeURIComponent(compensated.id)}`);
    await expect.poll(() => page.getByTestId("saga-status").textContent(), { timeout: 15_000 }).toBe("compensated");

    const failed = page.locator('[data-testid="segment"][data-step="ReserveInventory"][data-phase="action"][data-outcome="failed"]');
    const refund = page.locator('[data-testid="segment"][data-step="ReservePayment"][data-phase="compensation"][data-outcome="succeeded"]');
    const payment = page.locator('[data-testid="segment"][data-step="ReservePayment"][data-phase="action"][data-outcome="succeeded"]');
    await expect.poll(() => failed.count()).toBeGreaterThanOrEqual(1);
    expect(await refund.count()).toBe(1);
    expect(await payment.count()).toBe(1);
    expect(await page.locator('[data-testid="segment"][data-step="ShipOrder"]').count()).toBe(0);
    expect(await page.getByTestId("failure-marker").count()).toBeGreaterThanOrEqual(1);
    for (const step of ["ReservePayment", "ReserveInventory", "ShipOrder"]) expect(await page.getByTestId(`lane-${step}`).count()).toBe(1);

    // One time axis: the payment's action comes first, then the inventory's failure, then the refund.
    const left = async (segment: typeof failed): Promise<number> => (await segment.last().boundingBox())?.x ?? Number.NaN;
    const [paid, refused, refunded] = [await left(payment), await left(failed), await left(refund)];
    expect(paid).toBeLessThanOrEqual(refused);
    expect(refunded).toBeGreaterThanOrEqual(refused);
    expect((await refund.boundingBox())?.y).not.toBe((await failed.last().boundingBox())?.y);

    // By keyboard: focus the failed attempt and open it; its error is the warehouse's refusal.
    await failed.last().focus();
    await page.keyboard.press("Enter");
    await expect.poll(() => page.getByTestId("details").textContent(), { timeout: 5_000 }).toMatch(/ReserveInventory/);
    expect(await page.getByTestId("details").textContent()).toMatch(/409|discontinued|stock|refus/i);
    expect(await page.getByTestId("history").locator("tr").count()).toBeGreaterThan(6);
    await page.screenshot({ path: join(SCREENSHOTS, "saga-compensated.png"), fullPage: true });
    // The top of the page down to the opened attempt: the picture in the README.
    const details = await page.getByTestId("details").boundingBox();
    if (details !== null) await page.screenshot({ path: join(SCREENSHOTS, "saga-compensated-timeline.png"), clip: { x: 0, y: 0, width: 1280, height: Math.ceil(details.y + details.height + 16) }, fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it("definitions: the order saga drawn with its three steps and their compensations and policies", async () => {
    const { page, problems } = await openPage();
    await page.goto(`${running?.dashboard ?? ""}#/definitions`);
    const order = page.getByTestId("definition-order@1");
    await expect.poll(() => order.count(), { timeout: 15_000 }).toBe(1);
    const text = (await order.textContent()) ?? "";
    for (const step of ["ReservePayment", "ReserveInventory", "ShipOrder"]) expect(text).toContain(step);
    expect(text).toMatch(/3 attempts|max(imum)? attempts:? ?3|attempts 3/i);
    await page.screenshot({ path: join(SCREENSHOTS, "definitions.png"), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it("cancelling a running saga from the page (with a confirmation) compensates it, and the page shows it live", async () => {
    const api = running?.api ?? "";
    const order = { ...SEED_ORDERS[0], orderId: "order-cancel-e2e" };
    const started = await fetch(`${api}/sagas`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ definition: "order", input: order }) });
    expect(started.status).toBe(201);
    const { id } = (await started.json()) as SagaState;
    // The slow shipping service keeps it in ShipOrder for a while.
    await expect.poll(async () => (await sagaNow(id)).steps[2]?.action.status, { timeout: 15_000, interval: 50 }).toBe("running");

    const { page, problems } = await openPage();
    await page.goto(`${running?.dashboard ?? ""}#/sagas/${encodeURIComponent(id)}`);
    await expect.poll(() => page.getByTestId("saga-status").textContent(), { timeout: 10_000 }).toBe("running");
    await page.getByRole("button", { name: /cancel saga/i }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("textbox").fill("customer changed their mind");
    await dialog.getByRole("button", { name: "Confirm" }).click();

    // The running step settles, then everything that completed is compensated, newest first.
    await expect.poll(() => page.getByTestId("saga-status").textContent(), { timeout: 60_000, interval: 250 }).toBe("compensated");
    const saga = await sagaNow(id);
    expect(saga.status).toBe("compensated");
    expect(saga.cancel).toMatchObject({ reason: "customer changed their mind", by: "dashboard" });
    expect(saga.steps.map((s) => s.compensation.status)).toEqual(["succeeded", "succeeded", "succeeded"]);
    expect(await page.locator('[data-testid="segment"][data-phase="compensation"]').count()).toBe(3);
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);

  it("a failed saga is listed first as needing attention, and retrying it from the page, once its cause is fixed, compensates it", async () => {
    const api = running?.api ?? "";
    const payments = running?.services.payments ?? "";
    // The warehouse refuses this order, and the payment service refuses (423) to release its payment while it is on hold.
    const order = { ...SEED_ORDERS[1], orderId: "order-held-e2e" } as (typeof SEED_ORDERS)[number];
    const hold = await fetch(`${payments}/admin/holds`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ orderId: order.orderId, reason: "disputed" }) });
    expect(hold.status).toBe(201);
    const started = await fetch(`${api}/sagas`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ definition: "order", input: order }) });
    const { id } = (await started.json()) as SagaState;
    await expect.poll(async () => (await sagaNow(id)).status, { timeout: 30_000, interval: 100 }).toBe("failed");

    const { page, problems } = await openPage();
    await page.goto(running?.dashboard ?? "");
    await expect.poll(() => page.getByTestId("count-failed").textContent(), { timeout: 15_000 }).toBe("1");
    const attention = page.getByTestId("attention-item").first();
    expect(await attention.getAttribute("data-saga-id")).toBe(id);
    await attention.getByRole("link").first().click();
    await expect.poll(() => page.getByTestId("saga-status").textContent(), { timeout: 10_000 }).toBe("failed");
    expect(await page.getByTestId("outstanding").textContent()).toMatch(/ReservePayment/);

    const lifted = await fetch(`${payments}/admin/holds/${order.orderId}`, { method: "DELETE" });
    expect(lifted.status).toBe(200);
    await page.getByRole("button", { name: /retry compensations/i }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("textbox").fill("hold lifted by finance");
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await expect.poll(() => page.getByTestId("saga-status").textContent(), { timeout: 30_000, interval: 250 }).toBe("compensated");

    const history = (await (await fetch(`${api}/sagas/${id}/history`)).json()) as { items: Array<{ type: string; by?: string; reason?: string }> };
    expect(history.items.find((entry) => entry.type === "retry_requested")).toMatchObject({ by: "dashboard", reason: "hold lifted by finance" });
    // The page shows both compensation attempts of the payment: the refused one and the retried one.
    expect(await page.locator('[data-testid="segment"][data-step="ReservePayment"][data-phase="compensation"]').count()).toBeGreaterThanOrEqual(2);
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);

  it("skips a refused compensation from the page (with a reason) and marks another failed saga resolved", async () => {
    const api = running?.api ?? "";
    const payments = running?.services.payments ?? "";
    const fail = async (orderId: string): Promise<string> => {
      const order = { ...SEED_ORDERS[1], orderId } as (typeof SEED_ORDERS)[number];
      expect((await fetch(`${payments}/admin/holds`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ orderId, reason: "disputed" }) })).status).toBe(201);
      const started = await fetch(`${api}/sagas`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ definition: "order", input: order }) });
      const { id } = (await started.json()) as SagaState;
      await expect.poll(async () => (await sagaNow(id)).status, { timeout: 30_000, interval: 100 }).toBe("failed");
      return id;
    };
    const skipped = await fail("order-skip-e2e");
    const resolved = await fail("order-resolve-e2e");

    const { page, problems } = await openPage();
    await page.goto(`${running?.dashboard ?? ""}#/sagas/${encodeURIComponent(skipped)}`);
    await expect.poll(() => page.getByTestId("saga-status").textContent(), { timeout: 10_000 }).toBe("failed");
    await page.getByRole("button", { name: "Skip compensation of ReservePayment" }).click();
    const dialog = page.getByRole("dialog");
    // A skip needs a reason: Confirm stays disabled until there is one.
    expect(await dialog.getByRole("button", { name: "Confirm" }).isDisabled()).toBe(true);
    await dialog.getByRole("textbox").fill("refunded by hand, ticket OPS-42");
    await dialog.getByRole("button", { name: "Confirm" }).click();
    await expect.poll(() => page.getByTestId("saga-status").textContent(), { timeout: 30_000, interval: 250 }).toBe("compensated");
    await expect.poll(() => page.getByTestId("skip-marker").count(), { timeout: 10_000 }).toBe(1);
    expect((await sagaNow(skipped)).steps[0]?.compensation.status).toBe("skipped");

    await page.goto(`${running?.dashboard ?? ""}#/sagas/${encodeURIComponent(resolved)}`);
    await expect.poll(() => page.getByTestId("saga-status").textContent(), { timeout: 10_000 }).toBe("failed");
    await page.getByRole("button", { name: "Mark resolved" }).click();
    await page.getByRole("dialog").getByRole("textbox").fill("refunded by bank transfer");
    await page.getByRole("dialog").getByRole("button", { name: "Confirm" }).click();
    await expect.poll(() => page.getByTestId("resolution").count(), { timeout: 30_000, interval: 250 }).toBe(1);
    expect(await page.getByTestId("resolution").textContent()).toMatch(/refunded by bank transfer/);
    expect((await sagaNow(resolved)).resolution).toMatchObject({ by: "dashboard", reason: "refunded by bank transfer" });

    // A resolved failed saga no longer needs attention.
    await page.goto(running?.dashboard ?? "");
    await expect.poll(() => page.getByTestId("count-failed").textContent(), { timeout: 15_000 }).toBe("1");
    expect(await page.locator(`[data-testid="attention-item"][data-saga-id="${resolved}"]`).count()).toBe(0);
    await fetch(`${payments}/admin/holds/order-skip-e2e`, { method: "DELETE" });
    await fetch(`${payments}/admin/holds/order-resolve-e2e`, { method: "DELETE" });
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);

  it("asks for the server's token and keeps it for the session", async () => {
    const orchestrator = await Orchestrator.create({
      store: createMemoryStore(),
      definitions: [defineSaga<null>({ name: "tiny", version: 1 }).step("only", { action: () => null }).build()],
    });
    const token = "dashboard-e2e-token-0123456789";
    const app = await createServer({ orchestrator, token, dashboardDirectory: buildDir });
    const address = await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      await orchestrator.waitFor((await orchestrator.start("tiny", null, { id: "tiny-1" })).id);
      const { page } = await openPage();
      await page.goto(`${address}/`);
      const field = page.locator('input[name="token"]');
      await field.waitFor({ timeout: 10_000 });
      await field.fill("not-the-token-at-all-000");
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => field.isVisible(), { timeout: 5_000 }).toBe(true);
      await field.fill(token);
      await page.getByRole("button", { name: "Sign in" }).click();
      await expect.poll(() => page.getByTestId("count-completed").textContent(), { timeout: 10_000 }).toBe("1");
      // The token lives in this tab's session: a reload keeps it.
      await page.reload();
      await expect.poll(() => page.getByTestId("count-completed").textContent(), { timeout: 10_000 }).toBe("1");
      await page.close();
    } finally {
      await app.close();
      await orchestrator.close();
    }
  });
});
