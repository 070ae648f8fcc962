import type { JsonValue } from "../domain/json.js";
import type { DefinitionIssue } from "./definition-document-error.js";
import { childField } from "./field-path.js";
import { MAX_JSON_DEPTH } from "./json-syntax.js";

/**
 * A copy of `value` as JSON data (a document given as data rather than text, e.g. a request body
 * already parsed). Members whose value is undefined are left out, as JSON.stringify would; anything
 * else JSON cannot hold (functions, class instances, NaN, cycles) is an issue.
 */
export function copyJsonValue(value: unknown, source: string | undefined, issues: DefinitionIssue[]): JsonValue {
  const refuse = (field: string, message: string): null => {
    issues.push({ ...(source === undefined ? {} : { source }), field, message });
    return null;
  };
  const copy = (current: unknown, field: string, depth: number): JsonValue => {
    if (depth > MAX_JSON_DEPTH) return refuse(field, `nests deeper than ${MAX_JSON_DEPTH} levels`);
    if (current === null || typeof current === "string" || typeof current === "boolean") return current;
    if (typeof current === "number") return Number.isFinite(current) ? current : refuse(field, `is ${current}, which JSON cannot hold`);
    if (Array.isArray(current)) return current.map((item: unknown, index) => copy(item, `${field}[${index}]`, depth + 1));
    if (typeof current === "object") {
      const prototype: unknown = Object.getPrototypeOf(current);
      if (prototype !== Object.prototype && prototype !== null) return refuse(field, "must be plain JSON data, not a class instance");
      const entries = Object.entries(current).filter(([, member]) => member !== undefined);
      // fromEntries defines members, so a "__proto__" key stays data.
      return Object.fromEntries(entries.map(([key, member]) => [key, copy(member, childField(field, key), depth + 1)]));
    }
    return refuse(field, `must be JSON data, got ${typeof current}`);
  };
  return copy(value, "", 0);
}

/** Freezes `value` and everything in it. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}
