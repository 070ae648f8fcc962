import { expect } from "vitest";
import { DefinitionDocumentError, parseDefinitionDocument, type DefinitionIssue, type ParseDefinitionOptions } from "../../src/declarative/index.js";
import { ErrorCode, InvalidDefinitionError } from "../../src/errors.js";

/** The DefinitionDocumentError `fn` throws; fails the test when it returns or throws anything else. */
export function documentErrorOf(fn: () => unknown): DefinitionDocumentError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DefinitionDocumentError);
    expect(error).toBeInstanceOf(InvalidDefinitionError);
    expect((error as DefinitionDocumentError).code).toBe(ErrorCode.InvalidDefinition);
    return error as DefinitionDocumentError;
  }
  throw new Error("expected a DefinitionDocumentError, but nothing was thrown");
}

/** The issues parsing `text` reports. */
export function issuesOf(text: string, options: ParseDefinitionOptions = { source: "order.yaml" }): readonly DefinitionIssue[] {
  return documentErrorOf(() => parseDefinitionDocument(text, options)).issues;
}

/** Lines joined with "\n": documents in tests are written one line per array item, so line numbers are easy to read off. */
export function lines(...text: string[]): string {
  return `${text.join("\n")}\n`;
}
