import { Orchestrator, type OrchestratorOptions } from "../index.js";
import { createOrderSaga, openOrderServices, type OrderSaga, type OrderServicesOptions } from "../examples/order/index.js";
import type { SagaStore } from "../store/saga-store.js";
import { openStore, participantTarget, type DatabaseLocation } from "./store.js";

/** The order saga wired to its participants and an orchestrator, on one database. */
export interface OrderRuntime {
  orchestrator: Orchestrator;
  saga: OrderSaga;
  /** Stays open after `stopOrchestrator`, for a last look (counts) before `close`. */
  store: SagaStore;
  /** Stops claiming; held sagas get `graceMs` to finish, the rest are aborted and their leases given back. */
  stopOrchestrator: (graceMs?: number) => Promise<void>;
  /** Stops the orchestrator if still running, then closes the store and the participants' connections. */
  close: (graceMs?: number) => Promise<void>;
}

/** What `openOrderRuntime` needs besides the database. */
export interface OrderRuntimeOptions {
  /** Inspection-style open: never create the database or schema. */
  mustExist: boolean;
  participants?: OrderServicesOptions;
  orchestrator?: Omit<OrchestratorOptions, "store" | "definitions">;
}

/**
 * Opens the store (first, so that a missing or foreign database is refused before the
 * participants create their tables in it), the example participants, and an orchestrator.
 * Whatever was opened is closed again if a later part fails.
 */
export async function openOrderRuntime(location: DatabaseLocation, options: OrderRuntimeOptions): Promise<OrderRuntime> {
  const store = await openStore(location, { mustExist: options.mustExist });
  let participants: Awaited<ReturnType<typeof openOrderServices>> | undefined;
  try {
    participants = await openOrderServices(participantTarget(location), options.participants);
    const saga = createOrderSaga(participants.services);
    // The orchestrator closes its store on close(); this view keeps it open so the caller can
    // still read from it once the orchestrator has let go of its sagas.
    const orchestrator = await Orchestrator.create({ ...options.orchestrator, store: keepOpen(store), definitions: [saga] });
    const opened = participants;
    return {
      orchestrator,
      saga,
      store,
      stopOrchestrator: (graceMs) => orchestrator.close(graceMs),
      close: async (graceMs) => {
        try {
          await orchestrator.close(graceMs);
        } finally {
          await store.close();
          await opened.close();
        }
      },
    };
  } catch (error) {
    await store.close();
    await participants?.close();
    throw error;
  }
}

/** `store` with a `close` that does nothing; every other member is the store's own, bound to it. */
function keepOpen(store: SagaStore): SagaStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === "close") return () => Promise.resolve();
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
