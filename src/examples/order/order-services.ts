import { InventoryService } from "./inventory-service.js";
import { openParticipantDb } from "./open-participant-db.js";
import type { OrderServices } from "./order-saga.js";
import type { ParticipantDb, ParticipantOptions, ParticipantTarget } from "./participant-db.js";
import { PaymentService } from "./payment-service.js";
import { ShippingService } from "./shipping-service.js";

/** The three example participants and a way to close their connections. */
export interface OrderServicesHandle {
  services: OrderServices;
  close(): Promise<void>;
}

/** Where the participants keep their books, and how they behave. */
export interface OrderServicesOptions extends ParticipantOptions {
  /** PostgreSQL only: connections in the participants' pool. Default 4. */
  poolSize?: number;
}

/**
 * Opens the example participants on `target`, never through the orchestrator's connections, as
 * separate services would. Creates their tables when missing. On SQLite each service has its own
 * connection; on PostgreSQL the three share one pool of their own, which keeps a fleet of worker
 * processes well inside the server's `max_connections`.
 *
 * @example
 * const participants = await openOrderServices({ kind: "sqlite", path: "orders.db" });
 * const saga = createOrderSaga(participants.services);
 */
export async function openOrderServices(target: ParticipantTarget | string, options: OrderServicesOptions = {}): Promise<OrderServicesHandle> {
  const resolved: ParticipantTarget = typeof target === "string" ? { kind: "sqlite", path: target } : target;
  const { poolSize, ...behaviour } = options;
  const open = (): Promise<ParticipantDb> => openParticipantDb(resolved, poolSize === undefined ? {} : { poolSize });
  const dbs: ParticipantDb[] = [];
  try {
    if (resolved.kind === "postgres") {
      const shared = await open();
      dbs.push(shared, shared, shared);
    } else {
      for (let i = 0; i < 3; i++) dbs.push(await open());
    }
  } catch (error) {
    await Promise.all([...new Set(dbs)].map((db) => db.close()));
    throw error;
  }
  const [paymentDb, inventoryDb, shippingDb] = dbs as [ParticipantDb, ParticipantDb, ParticipantDb];
  return {
    services: {
      payment: new PaymentService(paymentDb, behaviour),
      inventory: new InventoryService(inventoryDb, behaviour),
      shipping: new ShippingService(shippingDb, behaviour),
    },
    close: async () => {
      await Promise.all([...new Set(dbs)].map((db) => db.close()));
    },
  };
}
