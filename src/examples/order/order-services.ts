import { InventoryService } from "./inventory-service.js";
import type { OrderServices } from "./order-saga.js";
import { openParticipantDb, type ParticipantOptions } from "./participant-db.js";
import { PaymentService } from "./payment-service.js";
import { ShippingService } from "./shipping-service.js";

/** The three example participants and a way to close their connections. */
export interface OrderServicesHandle {
  services: OrderServices;
  close(): void;
}

/**
 * Opens the example participants on `dbPath`, each with its own connection, as separate
 * services would have. Creates their tables when missing.
 */
export function openOrderServices(dbPath: string, options: ParticipantOptions = {}): OrderServicesHandle {
  const paymentDb = openParticipantDb(dbPath);
  const inventoryDb = openParticipantDb(dbPath);
  const shippingDb = openParticipantDb(dbPath);
  return {
    services: {
      payment: new PaymentService(paymentDb, options),
      inventory: new InventoryService(inventoryDb, options),
      shipping: new ShippingService(shippingDb, options),
    },
    close: () => {
      paymentDb.close();
      inventoryDb.close();
      shippingDb.close();
    },
  };
}
