import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { canonicalDefinitionJson, definitionHash, parseDefinitionDocument, parseDefinitionValue } from "../../src/declarative/index.js";
import type { JsonValue } from "../../src/domain/json.js";

const ORDER_YAML = readFileSync(new URL("../../examples/order/order-saga.yaml", import.meta.url), "utf8");
const order = parseDefinitionDocument(ORDER_YAML, { source: "order-saga.yaml" });
const data = JSON.parse(JSON.stringify(order)) as JsonValue;

/** `value` with every object's keys in reverse order, all the way down. */
function reversedKeys(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([key, member]) => [key, reversedKeys(member)]));
}

/** The path of every leaf (string, number, boolean, null) in `value`. */
function leafPaths(value: JsonValue, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((item, index) => leafPaths(item, [...path, index]));
  if (typeof value === "object" && value !== null) return Object.entries(value).flatMap(([key, member]) => leafPaths(member, [...path, key]));
  return [path];
}

/** A deep copy of `value` with the leaf at `path` changed to another value of the same type. */
function changedAt(value: JsonValue, path: (string | number)[]): JsonValue {
  const copy = structuredClone(value);
  let parent = copy as Record<string | number, JsonValue>;
  for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<string | number, JsonValue>;
  const last = path[path.length - 1] as string | number;
  const leaf = parent[last];
  parent[last] = typeof leaf === "string" ? `${leaf}-changed` : typeof leaf === "number" ? leaf + 1 : typeof leaf === "boolean" ? !leaf : "was null";
  return copy;
}

describe("definitionHash", () => {
  it("is a SHA-256 in hex", () => {
    expect(definitionHash(order)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("is stable under key reordering, notation (YAML or JSON), comments and formatting", () => {
    const reordered = parseDefinitionValue(reversedKeys(data));
    expect(Object.keys(reordered)).not.toEqual(Object.keys(order));
    expect(definitionHash(reordered)).toBe(definitionHash(order));
    expect(definitionHash(parseDefinitionDocument(JSON.stringify(reversedKeys(data), null, 4), { format: "json" }))).toBe(definitionHash(order));
    const recommented = ORDER_YAML.replace(/^#.*$/gm, "# another comment").replace(/^version: 1$/m, "version:     1   # same");
    expect(recommented).not.toBe(ORDER_YAML);
    expect(definitionHash(parseDefinitionDocument(recommented))).toBe(definitionHash(order));
  });

  it("differs on any change to any value", () => {
    const paths = leafPaths(data);
    expect(paths.length).toBeGreaterThan(50);
    const hashes = new Set([definitionHash(order)]);
    for (const path of paths) {
      // A change may make the document invalid; the hash is over the data, so compare canonical forms' hashes directly.
      const changed = changedAt(data, path);
      hashes.add(definitionHash(changed as never));
    }
    expect(hashes.size).toBe(paths.length + 1);
  });

  it("differs when a step is added, removed or moved, or a field is added", () => {
    const steps = (data as { steps: JsonValue[] }).steps;
    const variants: JsonValue[] = [
      { ...(data as object), steps: steps.slice(0, 2) },
      { ...(data as object), steps: [steps[1], steps[0], steps[2]] as JsonValue[] },
      { ...(data as object), steps: [...steps, { name: "Notify", wait: {} }] },
      { ...(data as object), maxRecoveries: 10 },
    ];
    const hashes = new Set([definitionHash(order), ...variants.map((variant) => definitionHash(variant as never))]);
    expect(hashes.size).toBe(variants.length + 1);
  });

  it("leaves out $schema, the editor's hint, and keeps the rest in canonical JSON", () => {
    const hinted = parseDefinitionValue({ $schema: "https://sagaflow.dev/schemas/saga-definition.json", ...(data as object) });
    expect(definitionHash(hinted)).toBe(definitionHash(order));
    const canonical = canonicalDefinitionJson(hinted);
    expect(canonical).not.toContain("$schema");
    expect(canonical.startsWith('{"description":')).toBe(true);
    expect(JSON.parse(canonical)).toEqual(data);
  });
});
