import { describe, expect, expectTypeOf, it } from "vitest";
import type { SagaPlan } from "../../src/domain/plan.js";
import { defineSaga, type CompensationContext, type SagaBuilder, type SagaDefinition, type StepContext } from "../../src/dsl/define-saga.js";
import { DEFAULT_ACTION_RETRY, DEFAULT_COMPENSATION_RETRY, DEFAULT_MAX_RECOVERIES } from "../../src/dsl/retry-defaults.js";
import { ErrorCode, InvalidDefinitionError, SagaflowError } from "../../src/errors.js";

const noop = (): null => null;

/** A builder with one valid step, to add a bad one after it. */
function base(): SagaBuilder<unknown, Record<string, unknown>> {
  return defineSaga({ name: "order", version: 1 }).step("first", { action: noop, compensate: noop });
}

/** Adds a step without the type checker's help, the way JavaScript or a JSON-driven caller would. */
function addStep(name: unknown, options: unknown): SagaBuilder<unknown, Record<string, unknown>> {
  return base().step(name as never, options as never);
}

function errorOf(fn: () => unknown): InvalidDefinitionError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidDefinitionError);
    return error as InvalidDefinitionError;
  }
  throw new Error("expected an InvalidDefinitionError, but nothing was thrown");
}

describe("defineSaga: rejects malformed definitions, naming the field", () => {
  const sagaCases: Array<{ name: string; options: unknown; field: string }> = [
    { name: "options that are not an object", options: null, field: "options" },
    { name: "a missing name", options: { version: 1 }, field: "name" },
    { name: "an empty name", options: { name: "", version: 1 }, field: "name" },
    { name: "a name starting with a digit", options: { name: "1order", version: 1 }, field: "name" },
    { name: "a name with a colon (it would break idempotency keys)", options: { name: "a:b", version: 1 }, field: "name" },
    { name: "a name of 129 characters", options: { name: `a${"b".repeat(128)}`, version: 1 }, field: "name" },
    { name: "a missing version", options: { name: "order" }, field: "version" },
    { name: "version 0", options: { name: "order", version: 0 }, field: "version" },
    { name: "a negative version", options: { name: "order", version: -2 }, field: "version" },
    { name: "a fractional version", options: { name: "order", version: 1.5 }, field: "version" },
    { name: "a version given as a string", options: { name: "order", version: "1" }, field: "version" },
    { name: "a version beyond what the stores keep (2^31 - 1)", options: { name: "order", version: 2_147_483_648 }, field: "version" },
    { name: "version NaN", options: { name: "order", version: Number.NaN }, field: "version" },
    { name: "a negative maxRecoveries", options: { name: "order", version: 1, maxRecoveries: -1 }, field: "maxRecoveries" },
    { name: "a fractional maxRecoveries", options: { name: "order", version: 1, maxRecoveries: 0.5 }, field: "maxRecoveries" },
    { name: "a parseInput that is not a function", options: { name: "order", version: 1, parseInput: {} }, field: "parseInput" },
    { name: "an unknown saga option", options: { name: "order", version: 1, maxRecovery: 3 }, field: "maxRecovery" },
  ];

  it.each(sagaCases)("$name → $field", ({ options, field }) => {
    const error = errorOf(() => defineSaga(options as never));
    expect(error.field).toBe(field);
    expect(error.code).toBe(ErrorCode.InvalidDefinition);
    expect(error).toBeInstanceOf(SagaflowError);
    expect(error.message).toContain(field);
  });

  const stepCases: Array<{ name: string; step: unknown; options: unknown; field: string }> = [
    { name: "a duplicate step name", step: "first", options: { action: noop }, field: "steps[1].name" },
    { name: "an empty step name", step: "", options: { action: noop }, field: "steps[1].name" },
    { name: "a step name with a space", step: "ship it", options: { action: noop }, field: "steps[1].name" },
    { name: "a step name with a colon", step: "ship:now", options: { action: noop }, field: "steps[1].name" },
    { name: "a step name that is not a string", step: 7, options: { action: noop }, field: "steps[1].name" },
    { name: "step options that are not an object", step: "ship", options: null, field: "steps[1]" },
    { name: "a missing action", step: "ship", options: {}, field: "steps[1].action" },
    { name: "a non-function action", step: "ship", options: { action: "POST /ship" }, field: "steps[1].action" },
    { name: "a non-function compensate", step: "ship", options: { action: noop, compensate: 1 }, field: "steps[1].compensate" },
    { name: "an unknown step option", step: "ship", options: { action: noop, retries: 3 }, field: "steps[1].retries" },
    { name: "a non-boolean pivot", step: "ship", options: { action: noop, pivot: "yes" }, field: "steps[1].pivot" },
    {
      name: "compensateOnFailure without compensate",
      step: "ship",
      options: { action: noop, compensateOnFailure: true },
      field: "steps[1].compensateOnFailure",
    },
    { name: "a negative timeout", step: "ship", options: { action: noop, timeoutMs: -1 }, field: "steps[1].timeoutMs" },
    { name: "a fractional timeout", step: "ship", options: { action: noop, timeoutMs: 2.5 }, field: "steps[1].timeoutMs" },
    {
      name: "a negative compensation timeout",
      step: "ship",
      options: { action: noop, compensate: noop, compensationTimeoutMs: -10 },
      field: "steps[1].compensationTimeoutMs",
    },
    { name: "retry that is not an object", step: "ship", options: { action: noop, retry: 3 }, field: "steps[1].retry" },
    { name: "retry given as an array", step: "ship", options: { action: noop, retry: [] }, field: "steps[1].retry" },
    { name: "maxAttempts 0", step: "ship", options: { action: noop, retry: { maxAttempts: 0 } }, field: "steps[1].retry.maxAttempts" },
    { name: "maxAttempts 1.5", step: "ship", options: { action: noop, retry: { maxAttempts: 1.5 } }, field: "steps[1].retry.maxAttempts" },
    {
      name: "maxAttempts Infinity",
      step: "ship",
      options: { action: noop, retry: { maxAttempts: Number.POSITIVE_INFINITY } },
      field: "steps[1].retry.maxAttempts",
    },
    {
      name: "a negative initial delay",
      step: "ship",
      options: { action: noop, retry: { initialDelayMs: -1 } },
      field: "steps[1].retry.initialDelayMs",
    },
    { name: "a negative max delay", step: "ship", options: { action: noop, retry: { maxDelayMs: -5 } }, field: "steps[1].retry.maxDelayMs" },
    {
      name: "maxDelayMs < initialDelayMs",
      step: "ship",
      options: { action: noop, retry: { initialDelayMs: 500, maxDelayMs: 100 } },
      field: "steps[1].retry.maxDelayMs",
    },
    { name: "a multiplier below 1", step: "ship", options: { action: noop, retry: { multiplier: 0.5 } }, field: "steps[1].retry.multiplier" },
    { name: "a NaN multiplier", step: "ship", options: { action: noop, retry: { multiplier: Number.NaN } }, field: "steps[1].retry.multiplier" },
    { name: "a bad jitter", step: "ship", options: { action: noop, retry: { jitter: "half" } }, field: "steps[1].retry.jitter" },
    {
      name: "terminalErrors that is not an array",
      step: "ship",
      options: { action: noop, retry: { terminalErrors: "Fatal" } },
      field: "steps[1].retry.terminalErrors",
    },
    {
      name: "terminalErrors with an empty name",
      step: "ship",
      options: { action: noop, retry: { terminalErrors: ["Fatal", ""] } },
      field: "steps[1].retry.terminalErrors",
    },
    { name: "an unknown retry option", step: "ship", options: { action: noop, retry: { maxAttempt: 3 } }, field: "steps[1].retry.maxAttempt" },
    {
      name: "compensationRetry maxAttempts 0",
      step: "ship",
      options: { action: noop, compensate: noop, compensationRetry: { maxAttempts: 0 } },
      field: "steps[1].compensationRetry.maxAttempts",
    },
    {
      name: "a bad compensation jitter",
      step: "ship",
      options: { action: noop, compensate: noop, compensationRetry: { jitter: true } },
      field: "steps[1].compensationRetry.jitter",
    },
  ];

  it.each(stepCases)("$name → $field", ({ step, options, field }) => {
    const error = errorOf(() => addStep(step, options));
    expect(error.field).toBe(field);
    expect(error.code).toBe(ErrorCode.InvalidDefinition);
    expect(error.message).toContain('saga definition "order"');
    expect(error.message).toContain(field);
  });

  it("a bad first step is reported as steps[0]", () => {
    const error = errorOf(() => defineSaga({ name: "order", version: 1 }).step("a", { action: noop, retry: { maxAttempts: 0 } }));
    expect(error.field).toBe("steps[0].retry.maxAttempts");
  });

  it("an empty saga is rejected at build() → steps", () => {
    const error = errorOf(() => defineSaga({ name: "order", version: 1 }).build());
    expect(error.field).toBe("steps");
  });

  it("the duplicate-name message says which step already has the name", () => {
    const error = errorOf(() => addStep("first", { action: noop }));
    expect(error.message).toMatch(/already step 0/);
  });
});

describe("defineSaga: accepts a valid definition", () => {
  const parseInput = (input: unknown): { orderId: string } => input as { orderId: string };
  const definition = defineSaga<{ orderId: string }>({ name: "order", version: 3, parseInput })
    .step("reservePayment", { action: () => ({ paymentId: "p-1" }), compensate: noop })
    .step("check-stock.v2", { action: () => true })
    .step("ship", {
      action: () => "shipped",
      compensate: noop,
      compensateOnFailure: true,
      pivot: true,
      timeoutMs: 2_000,
      compensationTimeoutMs: 500,
      retry: { maxAttempts: 5, jitter: "none", terminalErrors: ["Fatal"] },
      compensationRetry: { initialDelayMs: 1_000, maxDelayMs: 1_000, multiplier: 1 },
    })
    .build();

  it("carries name, version, steps in order and the functions", () => {
    expect(definition.name).toBe("order");
    expect(definition.version).toBe(3);
    expect(definition.plan.name).toBe("order");
    expect(definition.plan.version).toBe(3);
    expect(definition.plan.steps.map((s) => s.name)).toEqual(["reservePayment", "check-stock.v2", "ship"]);
    expect(definition.steps.map((s) => typeof s.action)).toEqual(["function", "function", "function"]);
    expect(definition.steps.map((s) => s.compensate !== undefined)).toEqual([true, false, true]);
    expect(definition.parseInput).toBe(parseInput);
  });

  it("fills defaults: retry policies, no timeout, not a pivot, maxRecoveries", () => {
    const expected: SagaPlan = {
      name: "order",
      version: 3,
      maxRecoveries: DEFAULT_MAX_RECOVERIES,
      steps: [
        {
          name: "reservePayment",
          pivot: false,
          hasCompensation: true,
          compensateOnFailure: false,
          retry: DEFAULT_ACTION_RETRY,
          timeoutMs: 0,
          compensationRetry: DEFAULT_COMPENSATION_RETRY,
          compensationTimeoutMs: 0,
        },
        {
          name: "check-stock.v2",
          pivot: false,
          hasCompensation: false,
          compensateOnFailure: false,
          retry: DEFAULT_ACTION_RETRY,
          timeoutMs: 0,
          compensationRetry: DEFAULT_COMPENSATION_RETRY,
          compensationTimeoutMs: 0,
        },
        {
          name: "ship",
          pivot: true,
          hasCompensation: true,
          compensateOnFailure: true,
          retry: { ...DEFAULT_ACTION_RETRY, maxAttempts: 5, jitter: "none", terminalErrors: ["Fatal"] },
          timeoutMs: 2_000,
          compensationRetry: { ...DEFAULT_COMPENSATION_RETRY, initialDelayMs: 1_000, maxDelayMs: 1_000, multiplier: 1 },
          compensationTimeoutMs: 500,
        },
      ],
    };
    expect(definition.plan).toEqual(expected);
    expect(DEFAULT_MAX_RECOVERIES).toBe(10);
    expect(DEFAULT_ACTION_RETRY).toMatchObject({ maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 10_000, jitter: "full" });
    expect(DEFAULT_COMPENSATION_RETRY).toMatchObject({ maxAttempts: 10, initialDelayMs: 200, maxDelayMs: 30_000 });
  });

  it("a large initialDelayMs without maxDelayMs raises the cap to it instead of failing", () => {
    const plan = defineSaga({ name: "slow", version: 1 }).step("a", { action: noop, retry: { initialDelayMs: 60_000 } }).build().plan;
    expect(plan.steps[0]?.retry).toMatchObject({ initialDelayMs: 60_000, maxDelayMs: 60_000 });
  });

  it("accepts maxAttempts 1, zero delays, maxRecoveries 0", () => {
    const plan = defineSaga({ name: "once", version: 1, maxRecoveries: 0 })
      .step("a", { action: noop, retry: { maxAttempts: 1, initialDelayMs: 0, maxDelayMs: 0 } })
      .build().plan;
    expect(plan.maxRecoveries).toBe(0);
    expect(plan.steps[0]?.retry).toMatchObject({ maxAttempts: 1, initialDelayMs: 0, maxDelayMs: 0 });
  });

  it("is frozen all the way to the retry policies", () => {
    expect(Object.isFrozen(definition)).toBe(true);
    expect(Object.isFrozen(definition.plan)).toBe(true);
    expect(Object.isFrozen(definition.plan.steps)).toBe(true);
    for (const step of definition.plan.steps) {
      expect(Object.isFrozen(step)).toBe(true);
      expect(Object.isFrozen(step.retry)).toBe(true);
      expect(Object.isFrozen(step.retry.terminalErrors)).toBe(true);
    }
  });

  it("does not keep a reference to the caller's terminalErrors array", () => {
    const terminalErrors = ["Fatal"];
    const plan = defineSaga({ name: "o", version: 1 }).step("a", { action: noop, retry: { terminalErrors } }).build().plan;
    terminalErrors.push("Other");
    expect(plan.steps[0]?.retry.terminalErrors).toEqual(["Fatal"]);
  });

  it("each step() returns a new builder: branching from one does not leak steps into the other", () => {
    const root = defineSaga({ name: "branch", version: 1 }).step("a", { action: noop });
    const left = root.step("b", { action: noop }).build();
    const right = root.step("c", { action: noop }).build();
    expect(left.plan.steps.map((s) => s.name)).toEqual(["a", "b"]);
    expect(right.plan.steps.map((s) => s.name)).toEqual(["a", "c"]);
    expect(root.build().plan.steps.map((s) => s.name)).toEqual(["a"]);
  });
});

describe("defineSaga: types", () => {
  interface Payment {
    paymentId: string;
    amount: number;
  }

  it("later steps see earlier outputs typed by name; a compensation sees its own output", () => {
    const definition = defineSaga<{ orderId: string }>({ name: "typed", version: 1 })
      .step("reservePayment", {
        action: (ctx): Payment => {
          expectTypeOf(ctx.input).toEqualTypeOf<{ orderId: string }>();
          expectTypeOf(ctx.outputs).not.toHaveProperty("reservePayment");
          return { paymentId: "p", amount: 1 };
        },
        compensate: ({ output, idempotencyKey }) => {
          expectTypeOf(output).toEqualTypeOf<Payment | null>();
          expectTypeOf(idempotencyKey).toBeString();
        },
      })
      .step("reserveStock", {
        action: async ({ outputs }) => {
          expectTypeOf(outputs.reservePayment).toEqualTypeOf<Payment>();
          await Promise.resolve();
          return { sku: "x", units: 2 };
        },
        compensate: (ctx) => {
          expectTypeOf(ctx.output).toEqualTypeOf<{ sku: string; units: number } | null>();
          expectTypeOf(ctx.outputs.reservePayment).toEqualTypeOf<Payment>();
          expectTypeOf(ctx).toExtend<CompensationContext<{ orderId: string }, unknown, { sku: string; units: number }>>();
        },
      })
      .step("ship", {
        action: (ctx) => {
          expectTypeOf(ctx.outputs.reservePayment.amount).toBeNumber();
          // An async action's output is what its promise resolves to.
          expectTypeOf(ctx.outputs.reserveStock).toEqualTypeOf<{ sku: string; units: number }>();
          expectTypeOf(ctx).toExtend<StepContext<{ orderId: string }, unknown>>();
          // @ts-expect-error a step does not see its own or later outputs
          void ctx.outputs.ship;
          return `${ctx.input.orderId}:${ctx.outputs.reserveStock.units}`;
        },
      })
      .build();

    expectTypeOf(definition).toExtend<SagaDefinition<{ orderId: string }>>();
    type Outputs = NonNullable<(typeof definition)["__types"]>["outputs"];
    expectTypeOf<Outputs["ship"]>().toEqualTypeOf<string>();
    expectTypeOf<Outputs["reservePayment"]>().toEqualTypeOf<Payment>();
    expect(definition.plan.steps.map((s) => s.name)).toEqual(["reservePayment", "reserveStock", "ship"]);
  });

  it("reusing a step name is a type error (and a runtime error)", () => {
    const builder = defineSaga({ name: "dup", version: 1 }).step("a", { action: () => 1 });
    expect(() =>
      builder
        // @ts-expect-error "a" is already a step of this saga
        .step("a", { action: () => 2 }),
    ).toThrow(InvalidDefinitionError);
    // A new name is fine, and so is the same name in another saga.
    expect(builder.step("b", { action: () => 2 }).build().plan.steps).toHaveLength(2);
    expect(defineSaga({ name: "other", version: 1 }).step("a", { action: () => 1 }).build().plan.steps).toHaveLength(1);
  });

  it("an unknown step option is a type error too", () => {
    expect(() =>
      defineSaga({ name: "typo", version: 1 }).step("a", {
        action: noop,
        // @ts-expect-error there is no `retries` option
        retries: 3,
      }),
    ).toThrow(/steps\[0\]\.retries/);
  });
});
