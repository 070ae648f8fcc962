import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { JsonValue } from "../../src/domain/json.js";
import { StoreUnavailableError } from "../../src/errors.js";
import { MAX_DEFINITION_BYTES, MAX_DEFINITION_DEPTH, MAX_DEFINITION_VERSION } from "../../src/store/definition-checks.js";
import type { SagaStore, StoredDefinition } from "../../src/store/saga-store.js";
import { create, expectInvalidArgument, T0 } from "./fixtures.js";

/** What a caller would hash: here simply the document's JSON text. */
export function hashOf(document: JsonValue): string {
  return createHash("sha256").update(JSON.stringify(document)).digest("hex");
}

/** A small declarative document, distinct per `label`. */
export function tripDocument(label = "v1"): { [key: string]: JsonValue } {
  return {
    name: "trip",
    label,
    steps: [
      { name: "book-hotel", action: { method: "POST", url: "https://hotels.example/holds", body: { city: "{{input.city}}" } } },
      { name: "charge", action: { method: "POST", url: "https://pay.example/charges" }, retry: { maxAttempts: 5 } },
    ],
  };
}

/** A definition to save (without `createdAtMs`), its hash made from its document. */
export function definitionOf(name: string, version: number, document: { [key: string]: JsonValue } = tripDocument()): Omit<StoredDefinition, "createdAtMs"> {
  return { name, version, hash: hashOf(document), document };
}

/** Saving, reading and listing definitions registered at run time. */
export function describeDefinitionCases(store: () => SagaStore): void {
  describe("saveDefinition, getDefinition and listDefinitions", () => {
    it("saves a new name@version and reads it back whole, by itself and in the list", async () => {
      expect(await store().listDefinitions()).toEqual([]);
      const definition = definitionOf("trip", 1);

      const outcome = await store().saveDefinition(definition, T0);

      const stored: StoredDefinition = { ...definition, createdAtMs: T0 };
      expect(outcome).toEqual({ saved: true, definition: stored });
      expect(await store().getDefinition("trip", 1)).toEqual(stored);
      expect(await store().listDefinitions()).toEqual([stored]);
      expect(await store().getDefinition("trip", 2)).toBeNull();
      expect(await store().getDefinition("other", 1)).toBeNull();
    });

    it("answers an identical repeat with exists and the definition first saved, writing nothing", async () => {
      const definition = definitionOf("trip", 1);
      await store().saveDefinition(definition, T0);

      const again = await store().saveDefinition(structuredClone(definition), T0 + 5_000);

      expect(again).toEqual({ saved: false, reason: "exists", definition: { ...definition, createdAtMs: T0 } });
      expect(await store().listDefinitions()).toEqual([{ ...definition, createdAtMs: T0 }]);
    });

    it("answers another document under a saved name@version with conflict, keeping the original", async () => {
      const original = definitionOf("trip", 1, tripDocument("first"));
      await store().saveDefinition(original, T0);
      const other = definitionOf("trip", 1, tripDocument("second"));

      const outcome = await store().saveDefinition(other, T0 + 1);

      const kept = { ...original, createdAtMs: T0 };
      expect(outcome).toEqual({ saved: false, reason: "conflict", definition: kept });
      expect(await store().getDefinition("trip", 1)).toEqual(kept);
      expect(await store().listDefinitions()).toEqual([kept]);
      // The same document under the next version is a new definition.
      expect(await store().saveDefinition(definitionOf("trip", 2, tripDocument("second")), T0 + 2)).toMatchObject({ saved: true });
    });

    it("lists by name in code point order, then by version numerically", async () => {
      const keys: Array<[string, number]> = [
        ["trip", 10],
        ["b", 1],
        ["trip", 2],
        ["a.b", 3],
        ["Trip", 1],
        ["a", 7],
        ["a-b", 1],
        ["a_b", 1],
        ["trip", 1],
        ["a", MAX_DEFINITION_VERSION],
      ];
      for (const [index, [name, version]] of keys.entries()) {
        expect(await store().saveDefinition(definitionOf(name, version, tripDocument(`${name}@${version}`)), T0 + index)).toMatchObject({ saved: true });
      }

      const listed = await store().listDefinitions();

      expect(listed.map((d) => `${d.name}@${d.version}`)).toEqual([
        "Trip@1",
        "a@7",
        `a@${MAX_DEFINITION_VERSION}`,
        "a-b@1",
        "a.b@3",
        "a_b@1",
        "b@1",
        "trip@1",
        "trip@2",
        "trip@10",
      ]);
      expect(listed.every((d) => (d.document as { label: string }).label === `${d.name}@${d.version}`)).toBe(true);
    });

    it("refuses bad arguments with InvalidArgumentError naming the field, writing nothing", async () => {
      const good = definitionOf("trip", 1);
      const cyclic: Record<string, unknown> = { name: "loop" };
      cyclic.self = cyclic;
      let deep: JsonValue = {};
      for (let level = 1; level < MAX_DEFINITION_DEPTH + 1; level++) deep = { inner: deep };
      const sparse: unknown[] = [1];
      sparse[2] = 3;
      class Step {
        name = "charge";
      }
      const bad: Array<[string, Record<string, unknown>, number?]> = [
        ["name", { name: "" }],
        ["name", { name: "1trip" }],
        ["name", { name: "trip one" }],
        ["name", { name: "trip/1" }],
        ["name", { name: "tríp" }],
        ["name", { name: `t${"x".repeat(128)}` }],
        ["name", { name: 7 }],
        ["name", { name: undefined }],
        ["version", { version: 0 }],
        ["version", { version: -1 }],
        ["version", { version: 1.5 }],
        ["version", { version: Number.NaN }],
        ["version", { version: Number.POSITIVE_INFINITY }],
        ["version", { version: "1" }],
        ["version", { version: MAX_DEFINITION_VERSION + 1 }],
        ["hash", { hash: "" }],
        ["hash", { hash: "abc" }],
        ["hash", { hash: good.hash.toUpperCase() }],
        ["hash", { hash: `${good.hash}0` }],
        ["hash", { hash: good.hash.slice(1) }],
        ["hash", { hash: `${good.hash.slice(1)}g` }],
        ["hash", { hash: null }],
        ["document", { document: null }],
        ["document", { document: [tripDocument()] }],
        ["document", { document: "{}" }],
        ["document", { document: 42 }],
        ["document", { document: undefined }],
        ["document", { document: { steps: [{ name: "a", timeoutMs: undefined }] } }],
        ["document", { document: { steps: [undefined] } }],
        ["document", { document: { retries: Number.NaN } }],
        ["document", { document: { retries: Number.POSITIVE_INFINITY } }],
        ["document", { document: { big: 10n } }],
        ["document", { document: { at: new Date(T0) } }],
        ["document", { document: { headers: new Map([["a", "b"]]) } }],
        ["document", { document: { run: () => 1 } }],
        ["document", { document: { id: Symbol("x") } }],
        ["document", { document: { step: new Step() } }],
        ["document", { document: { sparse } }],
        ["document", { document: cyclic }],
        ["document", { document: { deep } }],
        ["document", { document: { blob: "x".repeat(MAX_DEFINITION_BYTES) } }],
        ["document", { document: { items: new Array<number>(MAX_DEFINITION_BYTES).fill(0) } }],
        // Counted in bytes of UTF-8, not characters: 600,000 characters, 1,200,000 bytes.
        ["document", { document: { blob: "é".repeat(600_000) } }],
        ["nowMs", {}, Number.NaN],
        ["nowMs", {}, T0 + 0.5],
      ];
      for (const [field, change, nowMs] of bad) {
        await expectInvalidArgument(store().saveDefinition({ ...good, ...change }, nowMs ?? T0), field);
      }
      await expectInvalidArgument(store().getDefinition("not a name", 1), "name");
      await expectInvalidArgument(store().getDefinition("trip", 0), "version");
      await expectInvalidArgument(store().getDefinition("trip", 1.5), "version");
      expect(await store().listDefinitions()).toEqual([]);
      expect(await store().getDefinition("trip", 1)).toBeNull();
    });

    it("takes a document of exactly the size limit, and the longest name", async () => {
      // {"blob":"…"} is 11 bytes around the string.
      const document = { blob: "x".repeat(MAX_DEFINITION_BYTES - 11) };
      expect(Buffer.byteLength(JSON.stringify(document))).toBe(MAX_DEFINITION_BYTES);
      const name = `T${"x".repeat(127)}`;

      expect(await store().saveDefinition(definitionOf(name, 1, document), T0)).toMatchObject({ saved: true });

      expect((await store().getDefinition(name, 1))?.document).toEqual(document);
    });

    it("round-trips documents with unicode, escapes and deep nesting exactly", async () => {
      let nested: JsonValue = { leaf: ["end", 0, null] };
      for (let level = 0; level < MAX_DEFINITION_DEPTH - 3; level++) nested = level % 2 === 0 ? { [`level-${level}`]: nested } : [nested, level];
      const document: { [key: string]: JsonValue } = {
        zebra: "keys keep their order",
        alpha: "☕ tea, 茶, чай, شاي, 🍵🇨🇭, e\u0301 (combining), \u{1F469}\u200D\u{1F4BB}",
        "ключ with spaces and \"quotes\"": "back\\slash, \"quote\", newline\n, tab\t, NUL \u0000, bell \u0007, line sep \u2028, lone surrogate \ud800",
        numbers: [0, -1.5, 1e300, -2.5e-300, 5e-324, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, 0.1, 123456789.123456],
        flags: [true, false, null],
        empty: { object: {}, array: [], string: "" },
        nested,
        html: "<script>alert('x')</script> & ' ; DROP TABLE saga_definitions; --",
      };
      const definition = definitionOf("unicode.trip_1-x", 3, document);

      const outcome = await store().saveDefinition(definition, T0);
      const read = await store().getDefinition("unicode.trip_1-x", 3);
      const [listed] = await store().listDefinitions();

      for (const got of [outcome.definition, read, listed]) {
        expect(got).toEqual({ ...definition, createdAtMs: T0 });
        // Exactly: the same text, so key order and every character are kept.
        expect(JSON.stringify(got?.document)).toBe(JSON.stringify(document));
      }
    });

    it("keeps its own copies: mutating what went in or came out changes nothing stored", async () => {
      const document = tripDocument();
      const definition = definitionOf("trip", 1, document);
      const outcome = await store().saveDefinition(definition, T0);
      (document.steps as JsonValue[]).pop();
      document.label = "mutated";
      (outcome.definition.document as { label: string }).label = "mutated too";
      const read = await store().getDefinition("trip", 1);
      (read?.document as { steps: JsonValue[] }).steps.length = 0;
      const [listed] = await store().listDefinitions();
      (listed?.document as { name: string }).name = "mutated as well";
      const repeat = await store().saveDefinition(definitionOf("trip", 1), T0 + 1);
      (repeat.definition.document as { label: string }).label = "and again";

      expect((await store().getDefinition("trip", 1))?.document).toEqual(tripDocument());
      expect((await store().listDefinitions())[0]?.document).toEqual(tripDocument());
    });

    it("keeps definitions apart from instances", async () => {
      await create(store(), "saga-1");
      await store().saveDefinition(definitionOf("order", 1), T0);
      expect(await store().listInstances({ limit: 10 })).toMatchObject({ items: [{ id: "saga-1" }] });
      expect(await store().listDefinitions()).toHaveLength(1);
    });

    it("rejects definition calls with StoreUnavailableError once closed", async () => {
      await store().close();
      await expect(store().saveDefinition(definitionOf("trip", 1), T0)).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store().listDefinitions()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store().getDefinition("trip", 1)).rejects.toBeInstanceOf(StoreUnavailableError);
    });
  });
}
