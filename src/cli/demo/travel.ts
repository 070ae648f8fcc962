import type { StoredHistoryEntry } from "../../domain/history.js";
import type { SagaState } from "../../domain/state.js";
import { APPROVAL_LIMIT_CENTS, TravelDesk, travelSaga, type TripInput } from "../../examples/travel/travel-saga.js";
import { Orchestrator } from "../../runtime/orchestrator.js";
import type { Logger } from "../../runtime/logger.js";
import type { SagaStore } from "../../store/saga-store.js";

export interface TravelDemoOptions {
  store: SagaStore;
  logger: Logger;
  write: (line: string) => void;
  /** Each supplier call's latency. */
  delayMs: number;
  /** The travel saga's deadline. */
  deadlineMs: number;
}

const TRIPS: ReadonlyArray<{ trip: TripInput; story: string; approve: "at start" | "when asked" | "never" }> = [
  {
    trip: { tripId: "trip-lisbon", traveller: "ana", destination: "Lisbon", priceCents: 48_000, carAvailable: true },
    story: "Under the approval limit: the policy service approves it as it starts, and the event waits in the saga until the approval step asks for it",
    approve: "at start",
  },
  {
    trip: { tripId: "trip-tokyo", traveller: "bo", destination: "Tokyo", priceCents: 420_000, carAvailable: true },
    story: "Over the limit: the saga waits for a manager's approval, holding no worker",
    approve: "when asked",
  },
  {
    trip: { tripId: "trip-oslo", traveller: "cy", destination: "Oslo", priceCents: 61_000, carAvailable: false },
    story: "No car in Oslo: the car fails for good, the flight's and hotel's attempts in flight are cancelled, and what may have been booked is released",
    approve: "at start",
  },
  {
    trip: { tripId: "trip-reykjavik", traveller: "di", destination: "Reykjavik", priceCents: 510_000, carAvailable: true },
    story: "Over the limit, and no manager answers: the saga's deadline passes and it rolls back",
    approve: "never",
  },
];

/**
 * `sagaflow demo travel`: the travel booking saga through four trips that show a parallel group,
 * an approval event (one early, one on request), a compensation of parallel siblings, and a
 * deadline. Returns the final states, in the order of the trips.
 */
export async function runTravelDemo(options: TravelDemoOptions): Promise<SagaState[]> {
  const desk = new TravelDesk(options.delayMs);
  const saga = travelSaga(desk, options.deadlineMs);
  const orchestrator = await Orchestrator.create({ store: options.store, definitions: [saga], logger: options.logger, pollIntervalMs: 50 });
  const { write } = options;
  const finals: SagaState[] = [];
  try {
    write(`The travel saga: flight, hotel and car in parallel → payment → approval (event manager-approved; at or over ${euros(APPROVAL_LIMIT_CENTS)} a manager decides) → tickets; deadline ${options.deadlineMs} ms.`);
    for (const [index, { trip, story, approve }] of TRIPS.entries()) {
      write("");
      write(`Trip ${index + 1}: ${trip.destination}, ${euros(trip.priceCents)} for ${trip.traveller}. ${story}`);
      const { id } = await orchestrator.start(saga, trip, { id: trip.tripId });
      if (approve === "at start") await orchestrator.signal(id, "manager-approved", { approver: "policy-service (under the limit)" }, { by: "policy-service" });
      if (approve === "when asked") {
        await until(async () => (await orchestrator.get(id)).steps[4]?.action.status === "running", 30_000);
        write("  … waiting for approval; manager:eva approves");
        await orchestrator.signal(id, "manager-approved", { approver: "manager:eva" }, { by: "manager:eva" });
      }
      const final = await orchestrator.waitFor(id, 60_000);
      finals.push(final);
      for (const line of narrate(final, await orchestrator.history(id))) write(`  ${line}`);
    }
    write("");
    write(`Supplier log: ${desk.log.length} calls; still booked: ${[...desk.bookings.keys()].join(", ") || "nothing"}`);
  } finally {
    await orchestrator.close();
  }
  return finals;
}

/** What happened to one trip, from its history: the group, the approval, the deadline, the rollback. */
export function narrate(saga: SagaState, history: readonly StoredHistoryEntry[]): string[] {
  const lines: string[] = [];
  const start = saga.createdAtMs;
  const at = (ms: number): string => `+${ms - start} ms`;
  const members = ["flight", "hotel", "car"];
  const started = history.filter((h) => h.type === "attempt_started" && h.phase === "action" && members.includes(h.step));
  const firstStarts = members.map((m) => started.find((h) => h.type === "attempt_started" && h.step === m)?.atMs);
  const together = firstStarts.every((t) => t !== undefined && t === firstStarts[0]);
  const outcome = (step: string): string => {
    const s = saga.steps.find((x) => x.name === step);
    if (s === undefined) return "?";
    const action = s.action.status === "failed" && s.action.lastTimedOut === true ? "cancelled (outcome unknown)" : s.action.status;
    return `${step} ${action}${s.action.lastError === undefined || s.action.lastTimedOut === true ? "" : ` (${s.action.lastError.message})`}`;
  };
  lines.push(`parallel group "reservations"${together ? ` (all three started together at ${at(firstStarts[0] ?? start)})` : ""}: ${members.map(outcome).join(", ")}`);
  for (const entry of history) {
    if (entry.type === "signal_received") {
      const asked = history.find((h) => h.type === "attempt_started" && h.step === "approval");
      const early = asked === undefined || asked.atMs > entry.atMs || (asked.atMs === entry.atMs && asked.seq > entry.seq);
      lines.push(`event ${entry.name} from ${entry.by} at ${at(entry.atMs)}${early ? ", before the saga waited for it: kept until it did" : ""}`);
    }
    if (entry.type === "deadline_passed") lines.push(`deadline passed at ${at(entry.atMs)}: rolling back`);
  }
  const compensations = history.filter((h) => h.type === "attempt_succeeded" && h.phase === "compensation").map((h) => (h.type === "attempt_succeeded" ? h.step : ""));
  if (compensations.length > 0) lines.push(`compensated, newest first: ${compensations.join(" → ")}`);
  const tickets = saga.steps.find((s) => s.name === "tickets")?.output as { approvedBy?: string } | undefined;
  lines.push(`→ ${saga.status}${saga.status === "completed" && tickets?.approvedBy !== undefined ? `: tickets issued, approved by ${tickets.approvedBy}` : ""} (${(saga.endedAtMs ?? start) - start} ms)`);
  return lines;
}

function euros(cents: number): string {
  return `€${(cents / 100).toLocaleString("en-GB")}`;
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`the demo waited ${timeoutMs} ms for a saga that did not get there`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
