// JSON Schemas shared by the three services' request bodies. Bodies are checked strictly: no
// coercion ("5" is not 5) and unknown properties are refused, so a caller's typo is a 400 naming
// the field rather than a value silently dropped.

/** An id or name: a non-empty string of reasonable length. */
export const textSchema = { type: "string", minLength: 1, maxLength: 200 } as const;

/** A positive whole number that survives a JSON round-trip exactly. */
export const countSchema = { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER } as const;

/** The body of a compensation that only needs the order: `{ orderId }`. */
export const orderIdBody = {
  type: "object",
  required: ["orderId"],
  properties: { orderId: textSchema },
  additionalProperties: false,
} as const;

/** The body of OrderIdBody. */
export interface OrderIdBody {
  orderId: string;
}
