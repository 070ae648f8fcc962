import { AsyncLocalStorage } from "node:async_hooks";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type ContextManager,
  type Span,
  type SpanContext,
  type SpanStatus,
  type TextMapPropagator,
  type Tracer,
} from "@opentelemetry/api";
import { httpAction } from "../../src/http-participants/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineSaga, Orchestrator, RetryableError, TerminalError } from "../../src/index.js";
import { sagaSpans, sagaTraceContext, tracingInstrumentation } from "../../src/observability/index.js";
import { createMemoryStore } from "../../src/testing/index.js";

/** The context manager an SDK would register: the active context follows async calls. */
class AsyncLocalContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#storage.disable();
    return this;
  }
}

interface RecordedSpan {
  name: string;
  attributes: Attributes;
  status: SpanStatus | undefined;
  ended: boolean;
  span: Span;
  /** The span id of the parent it was started under, if any. */
  parentSpanId: string | undefined;
  startTime: unknown;
  endTime: unknown;
}

/** A tracer that keeps what it was told, as an exporter would receive it. */
function recordingTracer(): { tracer: Tracer; spans: RecordedSpan[] } {
  const spans: RecordedSpan[] = [];
  let next = 1;
  const startSpan = (name: string, options: { attributes?: Attributes; startTime?: unknown } = {}, parent: Context = context.active()): Span => {
    const parentContext = trace.getSpanContext(parent);
    const spanContext: SpanContext = {
      traceId: parentContext?.traceId ?? "0af7651916cd43dd8448eb211c80319c",
      spanId: (next++).toString(16).padStart(16, "0"),
      traceFlags: 1,
    };
    const record: RecordedSpan = {
      name,
      attributes: { ...options.attributes },
      status: undefined,
      ended: false,
      span: undefined as unknown as Span,
      parentSpanId: parentContext?.spanId,
      startTime: options.startTime,
      endTime: undefined,
    };
    const span: Span = {
      spanContext: () => spanContext,
      setAttribute: (key, value) => {
        if (value !== undefined) record.attributes[key] = value;
        return span;
      },
      setAttributes: (attributes) => {
        Object.assign(record.attributes, attributes);
        return span;
      },
      addEvent: () => span,
      addLink: () => span,
      addLinks: () => span,
      setStatus: (status) => {
        record.status = status;
        return span;
      },
      updateName: () => span,
      end: (endTime?: unknown) => {
        record.ended = true;
        record.endTime = endTime;
      },
      isRecording: () => !record.ended,
      recordException: () => undefined,
    };
    record.span = span;
    spans.push(record);
    return span;
  };
  const tracer = {
    startSpan,
    startActiveSpan: (name: string, options: { attributes?: Attributes }, parentOrFn: Context | ((span: Span) => unknown), maybeFn?: (span: Span) => unknown) => {
      const parent = typeof parentOrFn === "function" ? context.active() : parentOrFn;
      const fn = typeof parentOrFn === "function" ? parentOrFn : (maybeFn as (span: Span) => unknown);
      const span = startSpan(name, options, parent);
      return context.with(trace.setSpan(parent, span), fn, undefined, span);
    },
  } as unknown as Tracer;
  return { tracer, spans };
}

const manager = new AsyncLocalContextManager();
beforeAll(() => {
  context.setGlobalContextManager(manager);
});
afterAll(() => {
  context.disable();
});

describe("tracingInstrumentation", () => {
  it("runs each attempt inside its own span, with the saga's attributes and the attempt's outcome", async () => {
    const { tracer, spans } = recordingTracer();
    const seenInside: (Span | undefined)[] = [];
    let calls = 0;
    const saga = defineSaga<null>({ name: "traced", version: 3 })
      .step("book", {
        action: () => {
          seenInside.push(trace.getSpan(context.active()));
          calls++;
          if (calls === 1) throw new RetryableError("busy", { retryAfterMs: 1 });
          return { booked: true };
        },
        compensate: () => void seenInside.push(trace.getSpan(context.active())),
        retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 1 },
      })
      .step("pay", {
        action: () => {
          throw new TerminalError("declined");
        },
        retry: { maxAttempts: 1 },
      })
      .build();
    const orchestrator = await Orchestrator.create({ store: createMemoryStore(), definitions: [saga], wrapAttempt: tracingInstrumentation(tracer) });
    try {
      const { id } = await orchestrator.start(saga, null, { id: "traced-1" });
      expect((await orchestrator.waitFor(id)).status).toBe("compensated");
    } finally {
      await orchestrator.close();
    }

    expect(spans.map((s) => s.name)).toEqual(["saga.action book", "saga.action book", "saga.action pay", "saga.compensation book"]);
    expect(spans.every((s) => s.ended)).toBe(true);
    expect(spans[0]?.attributes).toMatchObject({
      "sagaflow.saga_id": "traced-1",
      "sagaflow.definition": "traced",
      "sagaflow.definition_version": 3,
      "sagaflow.step": "book",
      "sagaflow.phase": "action",
      "sagaflow.attempt": 1,
      "sagaflow.idempotency_key": "traced-1:book",
      "sagaflow.retryable": true,
    });
    expect(spans.map((s) => s.status?.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.OK, SpanStatusCode.ERROR, SpanStatusCode.OK]);
    expect(spans[0]?.status?.message).toBe("RetryableError: busy");
    expect(spans[1]?.attributes["sagaflow.attempt"]).toBe(2);
    expect(spans[3]?.attributes["sagaflow.idempotency_key"]).toBe("traced-1:book:compensate");
    // The step's own code ran with its attempt's span active: a participant call made there carries it.
    expect(seenInside).toEqual([spans[0]?.span, spans[1]?.span, spans[3]?.span]);
    // Every attempt of the saga is in the saga's own trace, derived from its id, on any worker.
    const sagaTrace = trace.getSpanContext(sagaTraceContext("traced-1"));
    expect(spans.every((s) => s.span.spanContext().traceId === sagaTrace?.traceId && s.parentSpanId === sagaTrace.spanId)).toBe(true);
    expect(trace.getSpanContext(sagaTraceContext("traced-2"))?.traceId).not.toBe(sagaTrace?.traceId);
  });

  it("records one span per saga, from its creation to its end, in the same trace as its attempts", async () => {
    const { tracer, spans } = recordingTracer();
    const saga = defineSaga<{ fail: boolean }>({ name: "spanned", version: 2 })
      .step("one", { action: () => null, compensate: () => Promise.reject(new TerminalError("cannot undo")), compensationRetry: { maxAttempts: 1 } })
      .step("two", { action: ({ input }) => (input.fail ? Promise.reject(new TerminalError("no")) : null), retry: { maxAttempts: 1 } })
      .build();
    const orchestrator = await Orchestrator.create({ store: createMemoryStore(), definitions: [saga], wrapAttempt: tracingInstrumentation(tracer) });
    orchestrator.onTransition(sagaSpans(tracer));
    try {
      const ok = await orchestrator.start(saga, { fail: false }, { id: "span-ok" });
      const bad = await orchestrator.start(saga, { fail: true }, { id: "span-bad" });
      const [okFinal, badFinal] = [await orchestrator.waitFor(ok.id), await orchestrator.waitFor(bad.id)];
      expect([okFinal.status, badFinal.status]).toEqual(["completed", "failed"]);
      const sagaSpanOf = (id: string): RecordedSpan | undefined => spans.find((s) => s.name === "saga spanned" && s.attributes["sagaflow.saga_id"] === id);
      expect(sagaSpanOf("span-ok")).toMatchObject({ ended: true, startTime: okFinal.createdAtMs, endTime: okFinal.endedAtMs, status: { code: SpanStatusCode.OK } });
      expect(sagaSpanOf("span-ok")?.attributes).toMatchObject({ "sagaflow.definition": "spanned", "sagaflow.definition_version": 2, "sagaflow.status": "completed" });
      expect(sagaSpanOf("span-bad")).toMatchObject({ status: { code: SpanStatusCode.ERROR }, attributes: { "sagaflow.status": "failed", "sagaflow.stop_reason": "compensation_failed" } });
      const okTrace = trace.getSpanContext(sagaTraceContext("span-ok"))?.traceId;
      expect(spans.filter((s) => s.span.spanContext().traceId === okTrace).map((s) => s.name).sort()).toEqual(["saga spanned", "saga.action one", "saga.action two"]);
    } finally {
      await orchestrator.close();
    }
  });

  it("is a no-op without a registered tracer provider, and leaves outcomes alone", async () => {
    const saga = defineSaga<null>({ name: "untraced", version: 1 }).step("only", { action: () => ({ ok: 1 }) }).build();
    const orchestrator = await Orchestrator.create({ store: createMemoryStore(), definitions: [saga], wrapAttempt: tracingInstrumentation() });
    try {
      const { id } = await orchestrator.start(saga, null);
      const final = await orchestrator.waitFor(id);
      expect(final.status).toBe("completed");
      expect(final.steps[0]?.output).toEqual({ ok: 1 });
    } finally {
      await orchestrator.close();
    }
  });
});

/** W3C trace context, as an SDK's default propagator writes it. */
const traceContextPropagator: TextMapPropagator = {
  inject(ctx, carrier, setter) {
    const span = trace.getSpanContext(ctx);
    if (span !== undefined) setter.set(carrier, "traceparent", `00-${span.traceId}-${span.spanId}-0${span.traceFlags}`);
  },
  extract: (ctx) => ctx,
  fields: () => ["traceparent"],
};

describe("trace context to HTTP participants", () => {
  it("sends the attempt span's traceparent with every HTTP step call", async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((request, response) => {
      seen.push(request.headers);
      response.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/book`;
    propagation.setGlobalPropagator(traceContextPropagator);
    const { tracer, spans } = recordingTracer();
    const saga = defineSaga<null>({ name: "propagated", version: 1 }).step("book", { action: httpAction({ method: "POST", url }) }).build();
    const orchestrator = await Orchestrator.create({ store: createMemoryStore(), definitions: [saga], wrapAttempt: tracingInstrumentation(tracer) });
    try {
      const { id } = await orchestrator.start(saga, null);
      expect((await orchestrator.waitFor(id)).status).toBe("completed");
    } finally {
      await orchestrator.close();
      propagation.disable();
      server.close();
    }
    const span = spans[0]?.span.spanContext();
    expect(seen).toHaveLength(1);
    expect(seen[0]?.traceparent).toBe(`00-${span?.traceId ?? ""}-${span?.spanId ?? ""}-01`);
    expect(seen[0]?.["idempotency-key"]).toMatch(/:book$/);
  });
});
