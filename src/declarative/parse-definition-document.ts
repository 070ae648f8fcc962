import type { JsonValue } from "../domain/json.js";
import { InvalidArgumentError } from "../errors.js";
import { DefinitionDocumentError, type DefinitionIssue } from "./definition-document-error.js";
import { copyJsonValue, deepFreeze } from "./json-value.js";
import { detectFormat, readSource, SourceLocator } from "./read-source.js";
import { rememberOrigin, type DeclarativeDocument, type DocumentFormat } from "./saga-document.js";
import { schemaIssues } from "./schema-issues.js";
import { semanticIssues } from "./semantic-issues.js";

/** How to read a document's text and what to call it in messages. */
export interface ParseDefinitionOptions {
  /** Default: from `source`'s extension (`.json`, `.yaml`, `.yml`), else JSON when the text starts with `{`. */
  format?: DocumentFormat;
  /** The file name (or other name) messages give, e.g. `order.yaml:12:9 …`. */
  source?: string;
}

/**
 * Parses a declarative saga definition written as JSON or YAML and checks it against
 * SAGA_DEFINITION_SCHEMA and the rules beyond it. Throws DefinitionDocumentError listing every
 * problem with its field, line and column. Texts over 1 MiB, duplicate keys, YAML tags, alias bombs
 * and more than 200 steps are refused. `${NAME}` variables stay unresolved until
 * buildDeclarativeSaga.
 *
 * @example
 * const document = parseDefinitionDocument(await readFile("order.yaml", "utf8"), { source: "order.yaml" });
 * // order.yaml:12:9 steps[1].action.http.method must be one of GET, POST, PUT, PATCH, DELETE, got "FETCH"
 */
export function parseDefinitionDocument(text: string, options: ParseDefinitionOptions = {}): DeclarativeDocument {
  if (typeof text !== "string") throw new InvalidArgumentError("text", `must be the document's text (a string), got ${typeof text}`);
  const { source } = options;
  const format = detectFormat(text, options.format, source);
  const reading = readSource(text, format, source);
  if (reading.value === undefined) throw new DefinitionDocumentError(reading.issues, { source });
  return checkDocument(reading.value, reading.locator, source);
}

/**
 * Checks a definition given as data (e.g. a request body already parsed from JSON) as
 * parseDefinitionDocument checks text; its issues carry fields but no lines.
 */
export function parseDefinitionValue(value: unknown, options: { source?: string } = {}): DeclarativeDocument {
  const issues: DefinitionIssue[] = [];
  const copy = copyJsonValue(value, options.source, issues);
  if (issues.length > 0) throw new DefinitionDocumentError(issues, { source: options.source });
  return checkDocument(copy, new SourceLocator(), options.source);
}

function checkDocument(value: JsonValue, locator: SourceLocator, source: string | undefined): DeclarativeDocument {
  const issues = schemaIssues(value, locator, source);
  issues.push(...semanticIssues(value, locator, source, issues));
  const name = typeof value === "object" && value !== null && !Array.isArray(value) && typeof value.name === "string" ? value.name : undefined;
  if (issues.length > 0) throw new DefinitionDocumentError(inTextOrder(issues), { source, definition: name });
  const document = deepFreeze(value) as unknown as DeclarativeDocument;
  rememberOrigin(document, { source, positions: locator.positions() });
  return document;
}

/** Issues in the order they appear in the text; those without a place last, in the order found. */
function inTextOrder(issues: DefinitionIssue[]): DefinitionIssue[] {
  return issues
    .map((issue, index) => ({ issue, index }))
    .sort((a, b) => (a.issue.line ?? Infinity) - (b.issue.line ?? Infinity) || (a.issue.column ?? 0) - (b.issue.column ?? 0) || a.index - b.index)
    .map(({ issue }) => issue);
}
