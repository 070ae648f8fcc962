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
  const result: FailureClassification = { error, retryable: !terminal, timedOut: thrown instanceof StepTimeoutError };
  if (thrown instanceof RetryableError && thrown.retryAfterMs !== undefined) result.retryAfterMs = thrown.retryAfterMs;
  return result;
}

/** Makes a step's return value storable: `undefined` becomes null; BigInt, cycles and the like are refused. */
export function toJsonValue(value: unknown, what: string): JsonValue {
  if (value === undefined) return null;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new NotSerializableError(what, error instanceof Error ? error.message : String(error));
  }
  if (text === undefined) throw new NotSerializableError(what, `got ${typeof value}`);
  return JSON.parse(text) as JsonValue;
}
