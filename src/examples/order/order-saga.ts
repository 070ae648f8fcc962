import { defineSaga, type SagaDefinition } from "../../dsl/define-saga.js";
import type { RetryOptions } from "../../dsl/define-saga.js";
import type { InventoryService, StockReservation } from "./inventory-service.js";
import { parseOrderInput, type OrderInput } from "./order-input.js";
import type { PaymentReservation, PaymentService } from "./payment-service.js";
import type { Shipment, ShippingService } from "./shipping-service.js";

/** The participants the order saga calls. */
export interface OrderServices {
  payment: PaymentService;
  inventory: InventoryService;
  shipping: ShippingService;
}

/** Step outputs by step name, as later steps and compensations see them. */
export interface OrderOutputs extends Record<string, unknown> {
  readonly ReservePayment: PaymentReservation;
  readonly ReserveInventory: StockReservation;
  readonly ShipOrder: Shipment;
}

/** The order saga's definition type. */
export type OrderSaga = SagaDefinition<OrderInput, OrderOutputs>;

// Demo-friendly backoff: a transient failure is retried within tens of milliseconds, not seconds.
const ACTION_RETRY: RetryOptions = { maxAttempts: 3, initialDelayMs: 20, maxDelayMs: 500 };
const COMPENSATION_RETRY: RetryOptions = { maxAttempts: 10, initialDelayMs: 20, maxDelayMs: 500 };
const TIMEOUT_MS = 10_000;

/**
 * The seed's order saga: ReservePayment → ReserveInventory → ShipOrder, compensated newest first.
 *
 * ShipOrder has a compensation (cancel the shipment) and `compensateOnFailure`: a carrier may
 * have booked a shipment even though its answer was an error or never arrived, and cancelling
 * is idempotent and a no-op when nothing was booked, so asking is always safe.
 *
 * @example
 * const saga = createOrderSaga({ payment, inventory, shipping });
 * const orchestrator = await Orchestrator.create({ store, definitions: [saga] });
 * await orchestrator.start(saga, order, { idempotencyKey: order.orderId });
 */
export function createOrderSaga(services: OrderServices): OrderSaga {
  const { payment, inventory, shipping } = services;
  return defineSaga<OrderInput>({ name: "order", version: 1, parseInput: parseOrderInput })
    .step("ReservePayment", {
      action: ({ input, idempotencyKey, signal }) =>
        payment.reserve(
          { orderId: input.orderId, customerId: input.customerId, amountCents: input.amountCents, method: input.paymentMethod },
          { idempotencyKey, signal },
        ),
      compensate: ({ input, output, idempotencyKey, signal }) => payment.release(input.orderId, output?.paymentId ?? null, { idempotencyKey, signal }),
      retry: ACTION_RETRY,
      compensationRetry: COMPENSATION_RETRY,
      timeoutMs: TIMEOUT_MS,
      compensationTimeoutMs: TIMEOUT_MS,
    })
    .step("ReserveInventory", {
      action: ({ input, idempotencyKey, signal }) => inventory.reserve(input.orderId, input.sku, input.quantity, { idempotencyKey, signal }),
      compensate: ({ input, idempotencyKey, signal }) => inventory.release(input.orderId, { idempotencyKey, signal }),
      retry: ACTION_RETRY,
      compensationRetry: COMPENSATION_RETRY,
      timeoutMs: TIMEOUT_MS,
      compensationTimeoutMs: TIMEOUT_MS,
    })
    .step("ShipOrder", {
      action: ({ input, outputs, idempotencyKey, signal }) =>
        shipping.create(
          {
            orderId: input.orderId,
            paymentId: outputs.ReservePayment.paymentId,
            stockReservationId: outputs.ReserveInventory.reservationId,
            address: input.address,
          },
          { idempotencyKey, signal },
        ),
      compensate: ({ input, idempotencyKey, signal }) => shipping.cancel(input.orderId, { idempotencyKey, signal }),
      compensateOnFailure: true,
      retry: ACTION_RETRY,
      compensationRetry: COMPENSATION_RETRY,
      timeoutMs: TIMEOUT_MS,
      compensationTimeoutMs: TIMEOUT_MS,
    })
    .build();
}
