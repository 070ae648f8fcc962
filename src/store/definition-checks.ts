/**
 * The rules of `saveDefinition` and `getDefinition` that every adapter applies alike: which
 * arguments are refused (before anything is written), the JSON text a document is kept as, and
 * what a save of a `name@version` already kept answers.
 */
import { InvalidArgumentError } from "../errors.js";
import type { SaveDefinitionOutcome, StoredDefinition } from "./saga-store.js";

/**
 * Names a definition may have: the saga name pattern of `defineSaga` (`NAME_PATTERN` in
 * src/dsl/validate.ts). Repeated here because the store sees only the domain and its own
 * contract, never the dsl; test/store/definition-checks.test.ts keeps the two equal.
 */
export const DEFINITION_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;

/** Highest version: what PostgreSQL's INTEGER (and `saga_instances.definition_version`) holds. */
export const MAX_DEFINITION_VERSION = 2_147_483_647;

/** Largest document, in bytes of its UTF-8 JSON text (1 MiB). */
export const MAX_DEFINITION_BYTES = 1_048_576;

/**
 * Deepest nesting of objects and arrays in a document (the document itself is level 1). A bound
 * keeps serializing and parsing far from the call-stack limit, and turns a cyclic value into a
 * refusal rather than a stack overflow.
 */
export const MAX_DEFINITION_DEPTH = 100;

/** SHA-256 in lower-case hex: one spelling per hash, so equal hashes compare equal as text. */
const HASH_PATTERN = /^[0-9a-f]{64}$/;

/** A definition whose arguments were checked, its document as the JSON text the store keeps. */
export interface CheckedDefinition {
  name: string;
  version: number;
  hash: string;
  documentJson: string;
  createdAtMs: number;
}

/** Checks a save's arguments; throws `InvalidArgumentError` naming the first bad field. */
export function checkDefinitionToSave(definition: Omit<StoredDefinition, "createdAtMs">, nowMs: number): CheckedDefinition {
  const { name, version, hash, document } = definition;
  checkDefinitionKey(name, version);
  if (typeof hash !== "string" || !HASH_PATTERN.test(hash)) {
    throw new InvalidArgumentError("hash", `must be a SHA-256 digest as 64 lower-case hex digits, got ${show(hash)}`);
  }
  if (!Number.isSafeInteger(nowMs)) throw new InvalidArgumentError("nowMs", `must be an integer of epoch milliseconds, got ${show(nowMs)}`);
  return { name, version, hash, documentJson: documentJsonOf(document), createdAtMs: nowMs };
}

/** Checks the `name@version` of a save or a look-up. */
export function checkDefinitionKey(name: unknown, version: unknown): asserts name is string {
  if (typeof name !== "string" || !DEFINITION_NAME_PATTERN.test(name)) {
    throw new InvalidArgumentError(
      "name",
      `must be a saga name of letters, digits, '_', '.' or '-' starting with a letter (at most 128 characters), got ${show(name)}`,
    );
  }
  if (typeof version !== "number" || !Number.isInteger(version) || version < 1 || version > MAX_DEFINITION_VERSION) {
    throw new InvalidArgumentError("version", `must be an integer from 1 to ${MAX_DEFINITION_VERSION}, got ${show(version)}`);
  }
}

/** What a save answers when `name@version` was kept already: the kept definition, and whether it is the same. */
export function refusedSave(kept: StoredDefinition, hash: string): SaveDefinitionOutcome {
  return kept.hash === hash ? { saved: false, reason: "exists", definition: kept } : { saved: false, reason: "conflict", definition: kept };
}

/** A value waiting to be checked, and where it sits (for the message). */
interface Pending {
  value: unknown;
  /** Objects and arrays around it, itself included when it is one. */
  depth: number;
  parent: Pending | null;
  key: string | number | null;
}

/**
 * The JSON text of a document, after checking that it is a JSON object that survives
 * `JSON.stringify` → `JSON.parse` unchanged (nothing dropped or converted on the way: no
 * `undefined`, functions, NaN, dates, maps, class instances or array holes), and is small enough.
 * Walks the value with a stack of its own, never recursion, so no input can overflow the call
 * stack before it is refused.
 */
function documentJsonOf(document: unknown): string {
  if (!isPlainObject(document)) throw new InvalidArgumentError("document", `must be a JSON object, got ${kindOf(document)}`);
  // A lower bound of the JSON text's bytes: every value takes at least a byte, every string at
  // least a byte per UTF-16 unit plus its quotes, every key its quotes and colon too, every array
  // its commas. Past the limit, the walk stops at once.
  let atLeastBytes = 0;
  const tooLarge = (): InvalidArgumentError => new InvalidArgumentError("document", `must be at most ${MAX_DEFINITION_BYTES} bytes of JSON`);
  const stack: Pending[] = [{ value: document, depth: 1, parent: null, key: null }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { value } = item;
    atLeastBytes += typeof value === "string" ? value.length + 2 : 1;
    if (atLeastBytes > MAX_DEFINITION_BYTES) throw tooLarge();
    if (value === null || typeof value === "string" || typeof value === "boolean") continue;
    if (typeof value === "number") {
      if (!Number.isFinite(value)) throw notJson(item, String(value));
      continue;
    }
    if (typeof value !== "object") throw notJson(item, kindOf(value));
    if (item.depth > MAX_DEFINITION_DEPTH) {
      throw new InvalidArgumentError("document", `must nest objects and arrays at most ${MAX_DEFINITION_DEPTH} deep (and never contain itself); ${pathOf(item)} is deeper`);
    }
    if (Array.isArray(value) && Object.getPrototypeOf(value) === Array.prototype) {
      // The commas between elements, counted before a huge array's elements are queued.
      atLeastBytes += Math.max(0, value.length - 1);
      if (atLeastBytes > MAX_DEFINITION_BYTES) throw tooLarge();
      for (let index = value.length - 1; index >= 0; index--) {
        if (!(index in value)) throw notJson({ value: undefined, depth: item.depth + 1, parent: item, key: index }, "a hole");
        stack.push({ value: value[index] as unknown, depth: item.depth + 1, parent: item, key: index });
      }
      continue;
    }
    if (!isPlainObject(value)) throw notJson(item, kindOf(value));
    const keys = Object.keys(value);
    for (let index = keys.length - 1; index >= 0; index--) {
      const key = keys[index] as string;
      atLeastBytes += key.length + 3;
      stack.push({ value: value[key], depth: item.depth + 1, parent: item, key });
    }
    if (atLeastBytes > MAX_DEFINITION_BYTES) throw tooLarge();
  }
  const json = JSON.stringify(document);
  if (Buffer.byteLength(json, "utf8") > MAX_DEFINITION_BYTES) throw tooLarge();
  return json;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function notJson(item: Pending, what: string): InvalidArgumentError {
  return new InvalidArgumentError("document", `must hold only JSON values (objects, arrays, strings, finite numbers, booleans, null); ${pathOf(item)} is ${what}`);
}

/** Longest path a message shows; a longer one is cut short. */
const MAX_PATH_LENGTH = 200;

/** Where a value sits, as `document.steps[2].name`. */
function pathOf(item: Pending): string {
  const parts: string[] = [];
  for (let at: Pending | null = item; at !== null && at.key !== null; at = at.parent) {
    parts.push(typeof at.key === "number" ? `[${at.key}]` : /^[A-Za-z_$][\w$]*$/.test(at.key) ? `.${at.key}` : `[${JSON.stringify(at.key)}]`);
  }
  const path = `document${parts.reverse().join("")}`;
  return path.length <= MAX_PATH_LENGTH ? path : `${path.slice(0, MAX_PATH_LENGTH)}…`;
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") {
    const prototype = Object.getPrototypeOf(value) as { constructor?: unknown } | null;
    if (prototype === Array.prototype) return "an array";
    const constructor = prototype?.constructor;
    if (typeof constructor !== "function" || constructor === Object || constructor.name === "") return "an object with a prototype of its own";
    return `an instance of ${constructor.name}`;
  }
  return typeof value === "undefined" ? "undefined" : `a ${typeof value}`;
}

/** A bad argument for a message: short, and never the whole of a huge string. */
function show(value: unknown): string {
  if (typeof value === "string") return value.length > 80 ? `${JSON.stringify(value.slice(0, 80))}… (${value.length} characters)` : JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  return kindOf(value);
}
