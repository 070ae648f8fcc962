import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { buildDeclarativeSaga, parseDefinitionDocument, SAGA_DEFINITION_SCHEMA } from "../../src/declarative/index.js";

const DOC = readFileSync(new URL("../../docs/declarative-sagas.md", import.meta.url), "utf8");
const EXAMPLE = readFileSync(new URL("../../examples/order/order-saga.yaml", import.meta.url), "utf8");

/** The contents of every fenced block of `language` in the doc. */
function blocks(language: string): string[] {
  return [...DOC.matchAll(new RegExp("^```" + language + "\\n([\\s\\S]*?)^```$", "gm"))].map((match) => match[1] ?? "");
}

describe("the published JSON Schema", () => {
  it("is embedded in docs/declarative-sagas.md exactly as the code uses it", () => {
    const embedded = blocks("json").filter((block) => block.includes('"$id": "https://sagaflow.dev/schemas/saga-definition.json"'));
    expect(embedded).toHaveLength(1);
    expect(embedded[0]).toBe(`${JSON.stringify(SAGA_DEFINITION_SCHEMA, null, 2)}\n`);
  });

  it("is a valid draft 2020-12 schema that Ajv compiles in strict mode", () => {
    const ajv = new Ajv2020({ strict: true, strictRequired: false });
    expect(ajv.validateSchema(SAGA_DEFINITION_SCHEMA)).toBe(true);
    expect(() => ajv.compile(SAGA_DEFINITION_SCHEMA)).not.toThrow();
    expect(SAGA_DEFINITION_SCHEMA.$id).toBe("https://sagaflow.dev/schemas/saga-definition.json");
  });

  it("on its own (as an editor uses it) accepts the example and refuses what the parser refuses", () => {
    const validate = new Ajv2020({ strict: false }).compile(SAGA_DEFINITION_SCHEMA);
    const example = parseDefinitionDocument(EXAMPLE);
    expect(validate(JSON.parse(JSON.stringify(example)))).toBe(true);
    const step = { name: "A", action: { http: { method: "GET", url: "https://a.example" } } };
    expect(validate({ name: "x", version: 1, steps: [step] })).toBe(true);
    expect(validate({ name: "x", version: 1, steps: [{ ...step, wait: {} }] })).toBe(false);
    expect(validate({ name: "x", version: 1, steps: [{ name: "A" }] })).toBe(false);
    expect(validate({ name: "x", version: 1, steps: [{ name: "A", wait: {}, timeoutMs: 5 }] })).toBe(false);
    expect(validate({ name: "x", version: 1, steps: [{ ...step, compensateOnFailure: true }] })).toBe(false);
    expect(validate({ name: "x", version: 1, steps: [{ ...step, compensateOnFailure: false }] })).toBe(true);
    expect(validate({ name: "x", version: 1, steps: [] })).toBe(false);
  });

  it("every saga in the doc's YAML examples parses and builds", () => {
    const sagas = blocks("yaml").filter((block) => /^name: /m.test(block));
    expect(sagas.length).toBeGreaterThan(0);
    const variables = { PAYMENTS_URL: "http://payments.example", PAYMENTS_TOKEN: "t", INVENTORY_URL: "http://inventory.example", SHIPPING_URL: "http://shipping.example" };
    for (const text of sagas) {
      const saga = buildDeclarativeSaga(parseDefinitionDocument(text, { source: "docs/declarative-sagas.md" }), { variables });
      expect(saga.plan.steps.length).toBeGreaterThan(0);
    }
  });
});
