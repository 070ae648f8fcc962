import type { ErrorInfo } from "../domain/error-info.js";
import type { JsonValue } from "../domain/json.js";
import { NotSerializableError, RetryableError, StepTimeoutError, TerminalError } from "../errors.js";

const MAX_CAUSE_DEPTH = 5;

/** Reduces anything thrown to persistable data, keeping the cause chain (G6). */
export function toErrorInfo(thrown: unknown, depth = 0): ErrorInfo {
  if (thrown instanceof Error) {
    const info: ErrorInfo = { name: thrown.name, message: thrown.message };
    if (thrown.stack !== undefined) info.stack = thrown.stack;
    const code = (thrown as { code?: unknown }).code;
    if (typeof code === "string" || typeof code === "number") info.code = String(code);
    if (thrown.cause !== undefined && depth < MAX_CAUSE_DEPTH) info.cause = toErrorInfo(thrown.cause, depth + 1);
    return info;
  }
  let message: string;
  try {
    message = typeof thrown === "string" ? thrown : JSON.stringify(thrown) ?? String(thrown);
  } catch {
    message = String(thrown);
  }
  return { name: "NonErrorThrown", message };
}

export interface FailureClassification {
  error: ErrorInfo;
  retryable: boolean;
  timedOut: boolean;
  retryAfterMs?: number;
}

/** Retry semantics live in the error type: TerminalError and unserializable output stop, the rest retry. */
export function classifyFailure(thrown: unknown): FailureClassification {
  const error = toErrorInfo(thrown);
  const terminal = thrown instanceof TerminalError || thrown instanceof NotSerializableError || error.name === "TerminalError";
  // "Timed out" stands for "may have taken effect": a step timeout, or a failure the step says it cannot tell from success.
  const timedOut = thrown instanceof StepTimeoutError || (thrown instanceof RetryableError && thrown.outcomeUnknown);
  const result: FailureClassification = { error, retryable: !terminal, timedOut };
  if (thrown instanceof RetryableError && thrown.retryAfterMs !== undefined) result.retryAfterMs = thrown.retryAfterMs;
  return result;
}

/**
 * Makes a step's return value (or a saga's input) storable: a copy with exactly what a JSON round
 * trip would keep; `undefined` becomes null; BigInt, cycles and the like are refused with
 * `NotSerializableError` naming `what(subject)`: a function, so the message is built only on
 * failure, and one made once, with what varies (a step's name) passed beside it, so that a call
 * allocates no closure.
 */
export function toJsonValue(value: unknown, what: (subject: string) => string, subject = ""): JsonValue {
  if (value === undefined) return null;
  // Most values are plain data (records of strings, numbers, arrays): copied directly, which
  // costs a fraction of a text round trip. Anything else takes the round trip, which applies
  // JSON's own rules (toJSON, undefined members, non-finite numbers) and reports what it refuses.
  const copied = copyPlainData(value, 0);
  if (copied !== NOT_PLAIN) return copied;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new NotSerializableError(what(subject), error instanceof Error ? error.message : String(error));
  }
  if (text === undefined) throw new NotSerializableError(what(subject), `got ${typeof value}`);
  return JSON.parse(text) as JsonValue;
}

const NOT_PLAIN: unique symbol = Symbol("not plain data");
/** Deeper than this, the text round trip decides (it also finds cycles). */
const MAX_PLAIN_DEPTH = 32;

/**
 * A copy of `value` if it is plain data whose JSON round trip is that same copy: null, booleans,
 * strings, finite numbers, and arrays and plain objects of those. Else `NOT_PLAIN`.
 */
function copyPlainData(value: unknown, depth: number): JsonValue | typeof NOT_PLAIN {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      // JSON writes -0 as 0.
      return Number.isFinite(value) ? (value === 0 ? 0 : value) : NOT_PLAIN;
    case "object":
      break;
    default:
      return NOT_PLAIN;
  }
  if (value === null) return null;
  if (depth >= MAX_PLAIN_DEPTH) return NOT_PLAIN;
  if (Array.isArray(value)) {
    const copy: JsonValue[] = new Array<JsonValue>(value.length);
    for (let index = 0; index < value.length; index++) {
      // A hole reads as undefined, which JSON writes as null: not the same copy, so the round trip decides.
      const item = copyPlainData(value[index], depth + 1);
      if (item === NOT_PLAIN) return NOT_PLAIN;
      copy[index] = item;
    }
    return copy;
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if ((prototype !== Object.prototype && prototype !== null) || "toJSON" in value) return NOT_PLAIN;
  const copy: Record<string, JsonValue> = {};
  // `for…in` rather than `Object.keys`: the same keys in the same order (the prototype is
  // Object's, whose members are not enumerable, or none; `hasOwn` still skips one that a library
  // made enumerable), read from the object's hidden class without an array of them per object.
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    // Assigning "__proto__" would set the copy's prototype instead of a member.
    if (key === "__proto__") return NOT_PLAIN;
    const member = copyPlainData((value as Record<string, unknown>)[key], depth + 1);
    if (member === NOT_PLAIN) return NOT_PLAIN;
    copy[key] = member;
  }
  return copy;
}
