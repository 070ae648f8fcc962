import type { RetryPolicy } from "../domain/retry-policy.js";
import { InvalidDefinitionError } from "../errors.js";

/** Step and saga names end up in idempotency keys (`<sagaId>:<step>`), so they stay simple. */
export const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;

export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? "an array" : `a ${typeof value}`;
}

export function requireName(saga: string, field: string, value: unknown): string {
  if (typeof value !== "string" || !NAME_PATTERN.test(value)) {
    throw new InvalidDefinitionError(
      saga,
      field,
      `must be a name of letters, digits, '_', '.' or '-' starting with a letter (at most 128 characters), got ${describe(value)}`,
    );
  }
  return value;
}

export function requireInteger(saga: string, field: string, value: unknown, min: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new InvalidDefinitionError(saga, field, `must be an integer ≥ ${min}, got ${describe(value)}`);
  }
  return value;
}

function requireNumber(saga: string, field: string, value: unknown, min: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw new InvalidDefinitionError(saga, field, `must be a finite number ≥ ${min}, got ${describe(value)}`);
  }
  return value;
}

export function requireBoolean(saga: string, field: string, value: unknown): boolean {
  if (typeof value !== "boolean") throw new InvalidDefinitionError(saga, field, `must be true or false, got ${describe(value)}`);
  return value;
}

export function requireFunction(saga: string, field: string, value: unknown): void {
  if (typeof value !== "function") throw new InvalidDefinitionError(saga, field, `must be a function, got ${describe(value)}`);
}

/** Fills a partial policy from `defaults` and checks every value; returns a frozen policy. */
export function resolveRetryPolicy(saga: string, field: string, given: unknown, defaults: RetryPolicy): RetryPolicy {
  if (given === undefined) return defaults;
  if (typeof given !== "object" || given === null || Array.isArray(given)) {
    throw new InvalidDefinitionError(saga, field, `must be an object, got ${describe(given)}`);
  }
  const known = new Set(["maxAttempts", "initialDelayMs", "multiplier", "maxDelayMs", "jitter", "terminalErrors"]);
  for (const key of Object.keys(given)) {
    if (!known.has(key)) throw new InvalidDefinitionError(saga, `${field}.${key}`, `is not a retry option (known: ${[...known].join(", ")})`);
  }
  const g = given as Partial<Record<keyof RetryPolicy, unknown>>;
  const maxAttempts = requireInteger(saga, `${field}.maxAttempts`, g.maxAttempts ?? defaults.maxAttempts, 1);
  const initialDelayMs = requireNumber(saga, `${field}.initialDelayMs`, g.initialDelayMs ?? defaults.initialDelayMs, 0);
  const multiplier = requireNumber(saga, `${field}.multiplier`, g.multiplier ?? defaults.multiplier, 1);
  const maxDelayMs = requireNumber(saga, `${field}.maxDelayMs`, g.maxDelayMs ?? Math.max(defaults.maxDelayMs, initialDelayMs), 0);
  if (maxDelayMs < initialDelayMs) {
    throw new InvalidDefinitionError(saga, `${field}.maxDelayMs`, `must be ≥ initialDelayMs (${initialDelayMs}), got ${maxDelayMs}`);
  }
  const jitter = g.jitter ?? defaults.jitter;
  if (jitter !== "full" && jitter !== "none") {
    throw new InvalidDefinitionError(saga, `${field}.jitter`, `must be "full" or "none", got ${describe(jitter)}`);
  }
  const terminalErrors = g.terminalErrors ?? defaults.terminalErrors;
  if (!Array.isArray(terminalErrors) || terminalErrors.some((name) => typeof name !== "string" || name === "")) {
    throw new InvalidDefinitionError(saga, `${field}.terminalErrors`, "must be an array of error names (non-empty strings)");
  }
  return Object.freeze({
    maxAttempts,
    initialDelayMs,
    multiplier,
    maxDelayMs,
    jitter,
    terminalErrors: Object.freeze([...(terminalErrors as string[])]),
  });
}
