import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import type { DefinitionIssue } from "./definition-document-error.js";
import { formatFieldPath, segmentsOfPointer, type PathSegment } from "./field-path.js";
import type { SourceLocator } from "./read-source.js";
import { SAGA_DEFINITION_SCHEMA } from "./saga-definition-schema.js";

let compiled: ValidateFunction | undefined;

/**
 * The schema's validator, compiled on first use (no work at import time). Strict, except that the
 * `oneOf` alternatives name required properties declared beside them, not in them.
 */
function documentValidator(): ValidateFunction {
  compiled ??= new Ajv2020({ allErrors: true, verbose: true, strict: true, strictRequired: false }).compile(SAGA_DEFINITION_SCHEMA);
  return compiled;
}

const step = SAGA_DEFINITION_SCHEMA.$defs.step;

/**
 * Rules the schema states for editors but semantic-issues.ts words better: which of action, wait
 * and sleep, timeoutMs on a waiting step, what a sleep step takes, compensateOnFailure without a
 * compensation. Their errors are
 * told apart by the subschema they come from.
 */
function isRestated(error: ErrorObject): boolean {
  const from = error.parentSchema;
  if (from === step) return error.keyword === "oneOf" || error.keyword === "if";
  return step.oneOf.some((alternative) => alternative === from) || from === step.then || from === step.dependentSchemas.wait || from === step.dependentSchemas.sleep;
}

/** Checks `value` against SAGA_DEFINITION_SCHEMA; one issue per problem, placed in the text. */
export function schemaIssues(value: unknown, locator: SourceLocator, source: string | undefined): DefinitionIssue[] {
  const validate = documentValidator();
  if (validate(value)) return [];
  const issues: DefinitionIssue[] = [];
  const seen = new Set<string>();
  for (const error of validate.errors ?? []) {
    if (isRestated(error)) continue;
    const issue = toIssue(error, value, locator, source);
    const key = `${issue.field}\n${issue.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      issues.push(issue);
    }
  }
  return issues;
}

/** An Ajv error as an issue: the field it is about, its place and a message in the DSL's words. */
export function toIssue(error: ErrorObject, root: unknown, locator: SourceLocator, source: string | undefined, prefix: readonly PathSegment[] = []): DefinitionIssue {
  const segments = [...prefix, ...segmentsOfPointer(error.instancePath, root)];
  const params = error.params as Record<string, unknown>;
  let field = segments;
  let position = locator.valueAt(segments);
  let message: string;
  switch (error.keyword) {
    case "required":
      field = [...segments, String(params.missingProperty)];
      message = "is required";
      break;
    case "additionalProperties": {
      const unknown = String(params.additionalProperty);
      field = [...segments, unknown];
      position = locator.keyAt(field);
      const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      message = known.length === 0 ? "is not allowed here" : `is not a known field (known: ${known.join(", ")})${suggestion(unknown, known)}`;
      break;
    }
    case "type":
      message = `must be ${article(String(params.type))}, got ${describe(error.data)}`;
      break;
    case "enum":
      message = `must be one of ${(params.allowedValues as unknown[]).map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join(", ")}, got ${describe(error.data)}`;
      break;
    case "const":
      message = `must be ${JSON.stringify(params.allowedValue)}, got ${describe(error.data)}`;
      break;
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      message = `must be ${COMPARISONS[String(params.comparison)] ?? String(params.comparison)} ${String(params.limit)}, got ${describe(error.data)}`;
      break;
    case "minItems":
      message = `must have at least ${String(params.limit)} ${Number(params.limit) === 1 ? "item" : "items"}`;
      break;
    case "maxItems":
      message = `must have at most ${String(params.limit)} items, has ${Array.isArray(error.data) ? error.data.length : "more"}`;
      break;
    case "minLength":
      message = `must be at least ${String(params.limit)} ${Number(params.limit) === 1 ? "character" : "characters"} long`;
      break;
    case "maxLength":
      message = `must be at most ${String(params.limit)} characters long`;
      break;
    case "pattern":
      message =
        error.parentSchema === SAGA_DEFINITION_SCHEMA.$defs.name
          ? `must be a name of letters, digits, '_', '.' or '-' starting with a letter (at most 128 characters), got ${describe(error.data)}`
          : `must match ${String(params.pattern)}, got ${describe(error.data)}`;
      break;
    default:
      message = error.message ?? `breaks the schema's ${error.keyword} rule`;
  }
  const place = position === undefined ? {} : { line: position.line, column: position.column };
  return { ...(source === undefined ? {} : { source }), field: formatFieldPath(field), ...place, message };
}

const COMPARISONS: Record<string, string> = { "<=": "≤", ">=": "≥", "<": "<", ">": ">" };

function article(type: string): string {
  const names: Record<string, string> = { object: "an object", array: "a list", integer: "an integer", number: "a number", string: "a string", boolean: "true or false", null: "null" };
  return type.split(",").map((t) => names[t] ?? t).join(" or ");
}

/** A value as a message shows it: strings quoted and cut, collections by kind. */
function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? "a list" : "an object";
}

/** `; did you mean "timeoutMs"?` for a near miss of a known name, else nothing. */
function suggestion(unknown: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const name of known) {
    const distance = editDistance(unknown.toLowerCase(), name.toLowerCase());
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 4)) ? `; did you mean ${best}?` : "";
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
    previous = current;
  }
  return previous[b.length] as number;
}
