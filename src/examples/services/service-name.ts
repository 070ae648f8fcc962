/** The three example participants, each served as its own HTTP service with its own SQLite file. */
export const ParticipantServiceName = { Payments: "payments", Inventory: "inventory", Shipping: "shipping" } as const;
/** One of ParticipantServiceName's values; also the first argument of main.ts. */
export type ParticipantServiceName = (typeof ParticipantServiceName)[keyof typeof ParticipantServiceName];

/** Whether `value` names one of the three services. */
export function isParticipantServiceName(value: unknown): value is ParticipantServiceName {
  return Object.values<unknown>(ParticipantServiceName).includes(value);
}
