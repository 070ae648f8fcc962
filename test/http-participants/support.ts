import { expect } from "vitest";
import type { CompensationContext, StepContext } from "../../src/dsl/define-saga.js";
import { HttpCallError } from "../../src/http-participants/index.js";

export type Ctx = StepContext<unknown, Record<string, unknown>>;
export type CompensationCtx = CompensationContext<unknown, Record<string, unknown>, unknown>;

/** What the engine would pass to the action of step `ReservePayment` of saga `saga-1`. */
export function actionContext(overrides: Partial<Ctx> = {}): Ctx {
  return {
    sagaId: "saga-1",
    step: "ReservePayment",
    attempt: 1,
    idempotencyKey: "saga-1:ReservePayment",
    input: { orderId: "A/B 7", amountCents: 4200, customer: { id: "c-1", tags: ["vip", "eu"] } },
    outputs: {},
    signal: new AbortController().signal,
    ...overrides,
  };
}

export function compensationContext(output: unknown, overrides: Partial<CompensationCtx> = {}): CompensationCtx {
  return { ...actionContext(), idempotencyKey: "saga-1:ReservePayment:compensate", output, ...overrides };
}

/** The error `promise` rejects with; fails the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  const result = await promise.then(
    (value) => ({ resolved: value }),
    (error: unknown) => ({ error }),
  );
  if (!("error" in result)) throw new Error(`expected a rejection, but it resolved with ${JSON.stringify(result.resolved)}`);
  expect(result.error).toBeInstanceOf(Error);
  return result.error as Error;
}

/** The HttpCallError a step error carries as its cause. */
export function httpCause(error: Error): HttpCallError {
  expect(error.cause).toBeInstanceOf(HttpCallError);
  return error.cause as HttpCallError;
}

/** The error `fn` throws; fails the test when it returns. */
export function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }
  throw new Error("expected a throw, but it returned");
}
