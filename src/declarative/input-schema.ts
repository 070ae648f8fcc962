import { Ajv2020, type ErrorObject } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { InvalidArgumentError } from "../errors.js";
import type { DefinitionIssue } from "./definition-document-error.js";
import { SourceLocator } from "./read-source.js";
import { toIssue } from "./schema-issues.js";

/**
 * An Ajv for one definition's input schema (a fresh one each, so `$id`s of different definitions
 * never collide). Inputs are checked as given: no coercion, no defaults, nothing removed.
 * Unknown keywords are refused, since a misspelt keyword would silently check nothing.
 */
function createInputAjv(allErrors: boolean): Ajv2020 {
  const ajv = new Ajv2020({
    allErrors,
    verbose: true,
    strict: true,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    coerceTypes: false,
    useDefaults: false,
    removeAdditional: false,
  });
  addFormats.default(ajv);
  return ajv;
}

/**
 * What is wrong with `schema` as an input schema (draft 2020-12), as issues under `input`;
 * empty when Ajv can compile it.
 */
export function inputSchemaIssues(schema: object, locator: SourceLocator, source: string | undefined): DefinitionIssue[] {
  const ajv = createInputAjv(true);
  if (!ajv.validateSchema(schema)) {
    return mergeAlternatives((ajv.errors ?? []).map((error) => ({ error, issue: toIssue(error, schema, locator, source, ["input"]) })));
  }
  try {
    ajv.compile(schema);
    return [];
  } catch (error) {
    const position = locator.valueAt(["input"]);
    return [
      {
        ...(source === undefined ? {} : { source }),
        field: "input",
        ...(position === undefined ? {} : { line: position.line, column: position.column }),
        message: `cannot be used as a JSON Schema (draft 2020-12): ${(error as Error).message}`,
      },
    ];
  }
}

/**
 * The meta-schema's `anyOf` yields one error per alternative plus its own; a reader wants one line
 * per field: `must be one of array, boolean, …; or must be a list`.
 */
function mergeAlternatives(found: { error: ErrorObject; issue: DefinitionIssue }[]): DefinitionIssue[] {
  const byField = new Map<string, { issue: DefinitionIssue; messages: string[] }>();
  for (const { error, issue } of found) {
    if (error.keyword === "anyOf" || error.keyword === "oneOf") continue;
    const entry = byField.get(issue.field);
    if (entry === undefined) byField.set(issue.field, { issue, messages: [issue.message] });
    else if (!entry.messages.includes(issue.message)) entry.messages.push(issue.message);
  }
  return [...byField.values()].map(({ issue, messages }) => ({ ...issue, message: messages.join("; or ") }));
}

/**
 * The definition's `parseInput`: accepts an input that matches `schema` (returning it unchanged),
 * refuses any other with InvalidArgumentError naming the first offending field, e.g.
 * `input.amountCents must be an integer, got "12"` (the HTTP API answers 400 naming body.input.amountCents).
 */
export function createInputParser(schema: object): (input: unknown) => unknown {
  const validate = createInputAjv(false).compile(schema);
  const noPlaces = new SourceLocator();
  return (input) => {
    if (validate(input)) return input;
    const [error] = validate.errors ?? [];
    if (error === undefined) throw new InvalidArgumentError("input", "does not match the definition's input schema");
    const issue = toIssue(error, input, noPlaces, undefined, ["input"]);
    throw new InvalidArgumentError(issue.field, issue.message);
  };
}
