import { InvalidArgumentError } from "../../errors.js";

/** How the customer pays; the payment service's gateway treats the two differently. */
export const PaymentMethod = { Card: "card", BankTransfer: "bank-transfer" } as const;
/** One of PaymentMethod's values. */
export type PaymentMethod = (typeof PaymentMethod)[keyof typeof PaymentMethod];

/** Where a shipment goes. `country` is an ISO 3166 alpha-2 code. */
export interface ShippingAddress {
  city: string;
  country: string;
}

/** The input of one order saga: one order line, paid and shipped. */
export interface OrderInput {
  orderId: string;
  customerId: string;
  amountCents: number;
  paymentMethod: PaymentMethod;
  sku: string;
  quantity: number;
  address: ShippingAddress;
}

/** Checks an order before a saga is started for it; throws InvalidArgumentError naming the field. */
export function parseOrderInput(value: unknown): OrderInput {
  const o = record(value, "input");
  const address = record(o.address, "input.address");
  const paymentMethod = text(o.paymentMethod, "input.paymentMethod");
  if (paymentMethod !== PaymentMethod.Card && paymentMethod !== PaymentMethod.BankTransfer) {
    throw new InvalidArgumentError("input.paymentMethod", `must be "card" or "bank-transfer", got ${JSON.stringify(paymentMethod)}`);
  }
  return {
    orderId: text(o.orderId, "input.orderId"),
    customerId: text(o.customerId, "input.customerId"),
    amountCents: count(o.amountCents, "input.amountCents"),
    paymentMethod,
    sku: text(o.sku, "input.sku"),
    quantity: count(o.quantity, "input.quantity"),
    address: { city: text(address.city, "input.address.city"), country: text(address.country, "input.address.country") },
  };
}

function record(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InvalidArgumentError(field, "must be an object");
  return value as Record<string, unknown>;
}

function text(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length === 0) throw new InvalidArgumentError(field, "must be a non-empty string");
  return value;
}

function count(value: unknown, field: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 1) throw new InvalidArgumentError(field, "must be a positive integer");
  return value as number;
}
