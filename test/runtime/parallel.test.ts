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

async function orchestrator(options: Partial<Parameters<typeof Orchestrator.create>[0]> = {}): Promise<Orchestrator> {
  const o = await Orchestrator.create({ store: createMemoryStore(), definitions: [travel("wait"), travel("cancel")], pollIntervalMs: 20, ...options });
  opened.push(o);
  return o;
}

describe("parallel groups through the orchestrator", () => {
  it("run their steps at the same time; the step after the group sees every output", async () => {
    const o = await orchestrator();
    const { id } = await o.start("travel-wait", { failCar: false });
    const final = await o.waitFor(id);
    expect(final.status).toBe("completed");
    expect(final.steps[3]?.output).toEqual({ paidFor: ["12C", 301, "B-SF 1"] });
    // Together: all three attempts started at the same moment, before any of them finished.
    const history = await o.history(id);
    const startedAt = history.filter((h) => h.type === "attempt_started" && h.phase === "action" && ["flight", "hotel", "car"].includes(h.step)).map((h) => h.atMs);
    expect(startedAt).toHaveLength(3);
    expect(new Set(startedAt).size).toBe(1);
    expect(log).toEqual(["car:booked", "flight:booked", "hotel:booked"]);
    // Outcomes are recorded in the order and at the time they came, not in the order the steps started.
    expect(final.settledOrder).toEqual([2, 0, 1, 3]);
    const settledAt = (step: string): number => (history.find((h) => h.type === "attempt_succeeded" && h.step === step)?.atMs ?? Number.NaN) - final.createdAtMs;
    expect(settledAt("car")).toBeLessThan(settledAt("flight"));
    expect(settledAt("flight")).toBeLessThan(settledAt("hotel"));
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
    const { id } = await o.start("travel-cancel", { failCar: true });
    const final = await o.waitFor(id);
    expect(final.status).toBe("compensated");
    // The flight's and hotel's attempts were aborted when the car failed: neither booked.
    expect(log).not.toContain("hotel:booked");
    expect(log).not.toContain("flight:booked");
    expect(final.steps.map((s) => [s.name, s.action.status, s.compensation.status])).toEqual([
      ["flight", "failed", "succeeded"],
      ["hotel", "failed", "succeeded"],
      ["car", "failed", "not_needed"],
      ["pay", "pending", "not_needed"],
    ]);
    expect(final.steps[0]?.action.lastTimedOut).toBe(true);
  });

  it("onFailure cancel works the same through an attempt wrapper (tracing), which sees every attempt", async () => {
    const wrapped: string[] = [];
    const o = await orchestrator({
      wrapAttempt: (info, run) => {
        wrapped.push(`${info.step}:${info.phase}:${info.attempt}`);
        return run();
      },
    });
    const { id } = await o.start("travel-cancel", { failCar: true });
    expect((await o.waitFor(id)).status).toBe("compensated");
    expect(log).not.toContain("hotel:booked");
    expect(log).not.toContain("flight:booked");
    expect(wrapped.slice(0, 3).sort()).toEqual(["car:action:1", "flight:action:1", "hotel:action:1"]);
    expect(wrapped.slice(3)).toEqual(["hotel:compensation:1", "flight:compensation:1"]);
  });
});
