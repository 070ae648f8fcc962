import { defineSaga, TerminalError, type SagaDefinition } from "../../index.js";

/** What a traveller asks for. */
export interface TripInput {
  tripId: string;
  traveller: string;
  destination: string;
  priceCents: number;
  /** The car-rental desk has a car for this trip (the demo's way to make it refuse). */
  carAvailable: boolean;
}

/** Trips at or above this price need a manager's approval (the event `manager-approved`). */
export const APPROVAL_LIMIT_CENTS = 100_000;

/** The travel agency's suppliers: in-process and in memory, each call taking `delayMs`. */
export class TravelDesk {
  readonly bookings = new Map<string, string>();
  readonly log: string[] = [];
  constructor(private readonly delayMs: number) {}

  async book(kind: "flight" | "hotel" | "car" | "payment", trip: TripInput, signal?: AbortSignal): Promise<{ ref: string }> {
    // The car desk knows at once that it has no car; the others take their time.
    if (kind === "car" && !trip.carAvailable) throw new TerminalError(`no car available in ${trip.destination}`);
    await pause(this.delayMs, signal);
    const ref = `${kind.toUpperCase()}-${trip.tripId}`;
    this.bookings.set(ref, kind);
    this.log.push(`${ref} booked`);
    return { ref };
  }

  async release(ref: string | undefined, kind: string, trip: TripInput): Promise<void> {
    await pause(this.delayMs / 2);
    // A booking whose outcome was unknown (aborted) may not exist: releasing it is a no-op then.
    const key = ref ?? `${kind.toUpperCase()}-${trip.tripId}`;
    this.log.push(`${key} ${this.bookings.delete(key) ? "released" : "had nothing to release"}`);
  }
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
      },
      { once: true },
    );
  });
}

/**
 * The travel booking saga: flight, hotel and car reserved in parallel (a refusal of one cancels
 * the others' attempts), then the payment, then a manager's approval (the event
 * `manager-approved`; cheap trips are approved by the policy service the moment they start, and the
 * event waits in the saga until it asks). A deadline rolls back a trip whose approval never comes.
 */
export function travelSaga(desk: TravelDesk, deadlineMs: number): SagaDefinition<TripInput> {
  return defineSaga<TripInput>({ name: "travel", version: 1, deadlineMs })
    .parallel(
      "reservations",
      (group) =>
        group
          .step("flight", {
            action: ({ input, signal }) => desk.book("flight", input, signal),
            compensate: ({ input, output }) => desk.release(output?.ref, "flight", input),
            retry: { maxAttempts: 2 },
          })
          .step("hotel", {
            action: ({ input, signal }) => desk.book("hotel", input, signal),
            compensate: ({ input, output }) => desk.release(output?.ref, "hotel", input),
            retry: { maxAttempts: 2 },
          })
          .step("car", {
            action: ({ input, signal }) => desk.book("car", input, signal),
            compensate: ({ input, output }) => desk.release(output?.ref, "car", input),
            retry: { maxAttempts: 2 },
          }),
      { onFailure: "cancel" },
    )
    .step("payment", {
      action: ({ input }) => desk.book("payment", input),
      compensate: ({ input, output }) => desk.release(output?.ref, "payment", input),
    })
    .waitStep<"approval", { approver: string }>("approval", { event: "manager-approved" })
    .step("tickets", { action: ({ input, outputs }) => ({ issuedTo: input.traveller, approvedBy: outputs.approval.approver }) })
    .build();
}
