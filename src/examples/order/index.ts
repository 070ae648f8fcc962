// The seed's order saga with three example participants that keep their own books.
export { createOrderSaga } from "./order-saga.js";
export type { OrderSaga, OrderServices, OrderOutputs } from "./order-saga.js";
export { parseOrderInput, PaymentMethod } from "./order-input.js";
export type { OrderInput, ShippingAddress } from "./order-input.js";
export { PaymentService } from "./payment-service.js";
export type { PaymentReservation, PaymentRequest } from "./payment-service.js";
export { InventoryService } from "./inventory-service.js";
export type { StockReservation } from "./inventory-service.js";
export { ShippingService, SERVED_COUNTRIES } from "./shipping-service.js";
export type { Shipment, ShipmentRequest } from "./shipping-service.js";
export { openParticipantDb, INITIAL_STOCK } from "./participant-db.js";
export type { ParticipantDb, ParticipantOptions, CallOptions } from "./participant-db.js";
export { openOrderServices } from "./order-services.js";
export type { OrderServicesHandle } from "./order-services.js";
export { generateOrders, mulberry32, SEED_ORDERS } from "./order-generator.js";
export type { GenerateOptions, PlannedOutcome } from "./order-generator.js";
export { ledger } from "./ledger.js";
export type { LedgerEntry } from "./ledger.js";
