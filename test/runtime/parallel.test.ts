import { afterEach, describe, expect, it } from "vitest";
import { defineSaga, Orchestrator, TerminalError } from "../../src/index.js";
import { createMemoryStore } from "../../src/testing/index.js";

const STEP_MS = 150;
const log: string[] = [];
const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    }, { once: true });
  });

function travel(onFailure: "wait" | "cancel") {
  return defineSaga<{ failCar: boolean }>({ name: `travel-${onFailure}`, version: 1 })
    .parallel(
      "reservations",
      (group) =>
        group
          .step("flight", {
            action: async ({ signal }) => {
              await sleep(STEP_MS, signal);
              log.push("flight:booked");
              return { seat: "12C" };
            },
            compensate: () => void log.push("flight:cancelled"),
            retry: { maxAttempts: 1 },
          })
          .step("hotel", {
            action: async ({ signal }) => {
              await sleep(STEP_MS * 3, signal);
              log.push("hotel:booked");
              return { room: 301 };
            },
            compensate: () => void log.push("hotel:cancelled"),
            retry: { maxAttempts: 1 },
          })
          .step("car", {
            action: async ({ input }) => {
              await sleep(STEP_MS / 3);
              if (input.failCar) throw new TerminalError("no cars left");
              log.push("car:booked");
              return { plate: "B-SF 1" };
            },
            compensate: () => void log.push("car:cancelled"),
          }),
      { onFailure },
    )
    .step("pay", { action: ({ outputs }) => ({ paidFor: [outputs.flight.seat, outputs.hotel.room, outputs.car.plate] }) })
    .build();
}

const opened: Orchestrator[] = [];
afterEach(async () => {
  log.length = 0;
  await Promise.all(opened.splice(0).map((o) => o.close()));
});

async function orchestrator(): Promise<Orchestrator> {
  const o = await Orchestrator.create({ store: createMemoryStore(), definitions: [travel("wait"), travel("cancel")], pollIntervalMs: 20 });
  opened.push(o);
  return o;
}

describe("parallel groups through the orchestrator", () => {
  it("run their steps at the same time; the step after the group sees every output", async () => {
    const o = await orchestrator();
    const t0 = Date.now();
    const { id } = await o.start("travel-wait", { failCar: false });
    const final = await o.waitFor(id);
    const took = Date.now() - t0;
    expect(final.status).toBe("completed");
    expect(final.steps[3]?.output).toEqual({ paidFor: ["12C", 301, "B-SF 1"] });
    // One after another they would take 4⅓ × STEP_MS; together, about the slowest (3 × STEP_MS).
    expect(took).toBeLessThan(STEP_MS * 4);
    expect(log).toEqual(["car:booked", "flight:booked", "hotel:booked"]);
  });

  it("onFailure wait: the siblings in flight finish, then each that booked is compensated, newest first", async () => {
    const o = await orchestrator();
    const { id } = await o.start("travel-wait", { failCar: true });
    const final = await o.waitFor(id);
    expect(final.status).toBe("compensated");
    expect(log).toEqual(["flight:booked", "hotel:booked", "hotel:cancelled", "flight:cancelled"]);
  });

  it("onFailure cancel: the siblings' attempts are aborted at once and compensated as may-have-taken-effect", async () => {
    const o = await orchestrator();
    const t0 = Date.now();
    const { id } = await o.start("travel-cancel", { failCar: true });
    const final = await o.waitFor(id);
    expect(final.status).toBe("compensated");
    // Nothing waited for the hotel's 3 × STEP_MS: its attempt was aborted when the car failed.
    expect(Date.now() - t0).toBeLessThan(STEP_MS * 2);
    expect(log).not.toContain("hotel:booked");
    expect(final.steps.map((s) => [s.name, s.action.status, s.compensation.status])).toEqual([
      ["flight", "failed", "succeeded"],
      ["hotel", "failed", "succeeded"],
      ["car", "failed", "not_needed"],
      ["pay", "pending", "not_needed"],
    ]);
    expect(final.steps[0]?.action.lastTimedOut).toBe(true);
  });
});
