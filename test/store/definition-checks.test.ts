import { describe, expect, it } from "vitest";
import { NAME_PATTERN } from "../../src/dsl/validate.js";
import { DEFINITION_NAME_PATTERN } from "../../src/store/definition-checks.js";

describe("definition checks", () => {
  // The store repeats the dsl's pattern (adapters never import the dsl); a change to one must reach the other.
  it("accepts exactly the saga names defineSaga accepts", () => {
    expect(DEFINITION_NAME_PATTERN.source).toBe(NAME_PATTERN.source);
    expect(DEFINITION_NAME_PATTERN.flags).toBe(NAME_PATTERN.flags);
  });
});
