import type { JsonValue } from "../domain/json.js";
import { NAME_PATTERN } from "../dsl/validate.js";
import { InvalidArgumentError } from "../errors.js";
import { HttpCallError, HttpErrorCode } from "./http-call-error.js";

/** Which phase a template is written for: only a compensation has `output` (its action's output). */
export type HttpPhase = "action" | "compensation";

export type PathSegment = { readonly kind: "key"; readonly key: string } | { readonly kind: "index"; readonly index: number };

/** A parsed `{{ … }}`: where its value comes from and the path below that. */
export interface Reference {
  /** As written between the braces, trimmed; error messages quote it. */
  readonly expression: string;
  readonly root: "input" | "step" | "output" | "sagaId" | "stepName" | "attempt" | "idempotencyKey";
  /** The step named by `steps.<name>.output`. */
  readonly stepName?: string;
  readonly path: readonly PathSegment[];
}

/** A string with placeholders: literal text and references, in order. */
export interface Template {
  /** Where it was written in the spec, e.g. `url` or `body.items[0].sku`; run-time errors name it. */
  readonly field: string;
  readonly parts: readonly (string | Reference)[];
}

/** What references resolve against: the step's context, reduced to data. */
export interface TemplateScope {
  readonly sagaId: string;
  readonly step: string;
  readonly attempt: number;
  readonly idempotencyKey: string;
  readonly input: unknown;
  readonly outputs: Readonly<Record<string, unknown>>;
  /** Present for compensations only; `null` when the action left no output. */
  readonly output?: unknown;
}

const PLACEHOLDER = /\{\{([^{}]*)\}\}/g;
const IDENTIFIER = /^[A-Za-z_$][\w$-]*$/;
const SEGMENT = /\.([A-Za-z_$][\w$-]*)|\[(0|[1-9]\d{0,8})\]|\["([^"\\]*)"\]|\['([^'\\]*)'\]/y;
const ROOTS = "input…, steps.<name>.output…, output… (compensations only), saga.id, saga.step, attempt or idempotencyKey";

/** A path for messages: `body.amount`, `headers.X-Tenant`, `body["a b"]`. */
export function fieldPath(parent: string, key: string): string {
  return IDENTIFIER.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

/**
 * Parses `text` into a template, checking every placeholder once, when the spec is given.
 * `phase` undefined accepts `output`, leaving the check to whoever knows the phase.
 * Throws InvalidArgumentError naming `field` (the full path, e.g. `steps[1].action.url`);
 * `place` is the path within the spec (`url`) that run-time errors name.
 */
export function parseTemplate(text: string, field: string, place: string, phase: HttpPhase | undefined): Template {
  const parts: (string | Reference)[] = [];
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    const literal = text.slice(last, match.index);
    requireNoOpenBraces(literal, field);
    if (literal !== "") parts.push(literal);
    parts.push(parseReference((match[1] ?? "").trim(), field, phase));
    last = match.index + match[0].length;
  }
  const rest = text.slice(last);
  requireNoOpenBraces(rest, field);
  if (rest !== "") parts.push(rest);
  return { field: place, parts };
}

function requireNoOpenBraces(literal: string, field: string): void {
  if (literal.includes("{{")) {
    throw new InvalidArgumentError(field, `has a "{{" that opens no valid placeholder; write a reference as {{ input.orderId }} (no braces inside it)`);
  }
}

function parseReference(expression: string, field: string, phase: HttpPhase | undefined): Reference {
  const segments = parseSegments(expression, field);
  const [first, second, third] = segments;
  const reject = (why: string): never => {
    throw new InvalidArgumentError(field, `has {{ ${expression} }}, which ${why}`);
  };
  const exact = (root: Reference["root"], length: number): Reference =>
    segments.length === length ? { expression, root, path: [] } : reject(`must stand alone (nothing after it)`);
  if (first?.kind !== "key") return reject(`must start with one of ${ROOTS}`);
  switch (first.key) {
    case "input":
      return { expression, root: "input", path: segments.slice(1) };
    case "output":
      if (phase === "action") reject("an action cannot use: `output` is the action's own output, for its compensation");
      return { expression, root: "output", path: segments.slice(1) };
    case "steps": {
      if (second?.kind !== "key" || third?.kind !== "key" || third.key !== "output") {
        return reject(`must read steps.<step name>.output (or steps["<step name>"].output)`);
      }
      if (!NAME_PATTERN.test(second.key)) reject(`names no valid step (step names are letters, digits, '_', '.' or '-', starting with a letter)`);
      return { expression, root: "step", stepName: second.key, path: segments.slice(3) };
    }
    case "saga":
      if (second?.kind === "key" && second.key === "id") return exact("sagaId", 2);
      if (second?.kind === "key" && second.key === "step") return exact("stepName", 2);
      return reject("must be saga.id or saga.step");
    case "attempt":
      return exact("attempt", 1);
    case "idempotencyKey":
      return exact("idempotencyKey", 1);
    default:
      return reject(`must start with one of ${ROOTS}`);
  }
}

function parseSegments(expression: string, field: string): PathSegment[] {
  const head = /^[A-Za-z_$][\w$-]*/.exec(expression);
  if (head === null) {
    throw new InvalidArgumentError(field, `has {{ ${expression} }}, which is not a path such as {{ input.items[0].sku }}`);
  }
  const segments: PathSegment[] = [{ kind: "key", key: head[0] }];
  SEGMENT.lastIndex = head[0].length;
  while (SEGMENT.lastIndex < expression.length) {
    const at = SEGMENT.lastIndex;
    const match = SEGMENT.exec(expression);
    if (match === null) {
      throw new InvalidArgumentError(
        field,
        `has {{ ${expression} }}, which cannot be read at ${JSON.stringify(expression.slice(at))}; use .name, [0] or ["name with spaces"]`,
      );
    }
    const [, dotted, index, doubleQuoted, singleQuoted] = match;
    if (index !== undefined) segments.push({ kind: "index", index: Number(index) });
    else segments.push({ kind: "key", key: dotted ?? doubleQuoted ?? singleQuoted ?? "" });
  }
  return segments;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function templateError(field: string, reference: Reference, problem: string, advice = "fix the reference in the step's HTTP spec or the data it reads"): HttpCallError {
  return new HttpCallError(`${field}: {{ ${reference.expression} }} ${problem}; ${advice}`, {
    code: HttpErrorCode.Template,
    retryable: false,
  });
}

/** The value `reference` points at; throws HttpCallError HTTP_TEMPLATE when there is none. */
export function resolveReference(reference: Reference, scope: TemplateScope, field: string): unknown {
  let value: unknown;
  let at: string;
  switch (reference.root) {
    case "sagaId":
      return scope.sagaId;
    case "stepName":
      return scope.step;
    case "attempt":
      return scope.attempt;
    case "idempotencyKey":
      return scope.idempotencyKey;
    case "input":
      value = scope.input;
      at = "input";
      break;
    case "output":
      if (scope.output === null && reference.path.length > 0) {
        throw templateError(
          field,
          reference,
          "cannot be resolved: the action's output is null (it failed or timed out, and may still have had effects)",
          "address the effect by input, steps.<name>.output or saga.id instead, which are known whatever the action's outcome",
        );
      }
      value = scope.output;
      at = "output";
      break;
    case "step": {
      const name = reference.stepName ?? "";
      if (!Object.hasOwn(scope.outputs, name)) {
        const available = Object.keys(scope.outputs);
        throw templateError(
          field,
          reference,
          `refers to step ${JSON.stringify(name)}, but no earlier step of that name has succeeded (outputs available: ${available.length === 0 ? "none" : available.join(", ")})`,
        );
      }
      value = scope.outputs[name];
      at = `steps.${name}.output`;
      break;
    }
  }
  for (const segment of reference.path) {
    if (segment.kind === "index") {
      if (!Array.isArray(value)) throw templateError(field, reference, `cannot be resolved: ${at} is ${kindOf(value)}, not an array`);
      if (segment.index >= value.length) {
        throw templateError(field, reference, `cannot be resolved: ${at} has ${value.length} items, so [${segment.index}] is past its end`);
      }
      value = value[segment.index] as unknown;
      at = `${at}[${segment.index}]`;
    } else {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        throw templateError(field, reference, `cannot be resolved: ${at} is ${kindOf(value)}, not an object`);
      }
      if (!Object.hasOwn(value, segment.key)) throw templateError(field, reference, `cannot be resolved: ${at} has no member ${JSON.stringify(segment.key)}`);
      value = (value as Record<string, unknown>)[segment.key];
      at = fieldPath(at, segment.key);
    }
  }
  if (value === undefined) throw templateError(field, reference, `cannot be resolved: ${at} is undefined`);
  return value;
}

/** How a substituted value is written into text: a URL encodes it, a header and plain text take it as is. */
export type TextEncoding = "url" | "header" | "text";

/** Renders a template whose references must be strings, numbers or booleans. */
export function renderText(template: Template, scope: TemplateScope, encoding: TextEncoding): string {
  let text = "";
  for (const part of template.parts) {
    if (typeof part === "string") {
      text += part;
      continue;
    }
    const value = resolveReference(part, scope, template.field);
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
      const place = encoding === "url" ? "a URL" : encoding === "header" ? "a header" : "text around it";
      throw templateError(template.field, part, `is ${kindOf(value)}, but ${place} can only take a string, number or boolean`);
    }
    const written = String(value);
    if (encoding === "header" && /[\r\n\0]/.test(written)) {
      throw templateError(template.field, part, "holds a line break or NUL, which a header value cannot carry");
    }
    text += encoding === "url" ? encodeURIComponent(written) : written;
  }
  return text;
}

/** A JSON body whose strings may hold placeholders, parsed once. */
export type BodyTemplate =
  | { readonly kind: "literal"; readonly value: JsonValue }
  | { readonly kind: "value"; readonly field: string; readonly reference: Reference }
  | { readonly kind: "text"; readonly template: Template }
  | { readonly kind: "array"; readonly items: readonly BodyTemplate[] }
  | { readonly kind: "object"; readonly entries: readonly (readonly [string, BodyTemplate])[] };

/**
 * Parses a JSON body's strings as templates. A string that is exactly one placeholder becomes
 * the referenced value with its JSON type; a string with text around placeholders interpolates.
 */
export function parseBodyTemplate(value: JsonValue, field: string, place: string, phase: HttpPhase | undefined): BodyTemplate {
  if (typeof value === "string") {
    const template = parseTemplate(value, field, place, phase);
    const [only] = template.parts;
    if (template.parts.length === 1 && typeof only === "object") return { kind: "value", field: place, reference: only };
    return template.parts.some((part) => typeof part === "object") ? { kind: "text", template } : { kind: "literal", value };
  }
  if (Array.isArray(value)) {
    return { kind: "array", items: value.map((item, index) => parseBodyTemplate(item, `${field}[${index}]`, `${place}[${index}]`, phase)) };
  }
  if (typeof value === "object" && value !== null) {
    return {
      kind: "object",
      entries: Object.entries(value).map(([key, member]) => [key, parseBodyTemplate(member, fieldPath(field, key), fieldPath(place, key), phase)] as const),
    };
  }
  return { kind: "literal", value };
}

export function renderBody(template: BodyTemplate, scope: TemplateScope): JsonValue {
  switch (template.kind) {
    case "literal":
      return template.value;
    case "value":
      // Input and outputs were stored as JSON, so what they hold is JSON.
      return resolveReference(template.reference, scope, template.field) as JsonValue;
    case "text":
      return renderText(template.template, scope, "text");
    case "array":
      return template.items.map((item) => renderBody(item, scope));
    case "object":
      // fromEntries defines members, so a "__proto__" key stays a member instead of setting the prototype.
      return Object.fromEntries(template.entries.map(([key, member]) => [key, renderBody(member, scope)]));
  }
}
