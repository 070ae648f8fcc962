import type { RetryPolicy } from "../domain/retry-policy.js";
import { DEFAULT_ACTION_RETRY, DEFAULT_COMPENSATION_RETRY } from "../dsl/retry-defaults.js";
import { resolveRetryPolicy } from "../dsl/validate.js";
import { InvalidArgumentError, InvalidDefinitionError } from "../errors.js";
import { compileHttpCall, type CompiledHttpCall } from "../http-participants/http-call-spec.js";
import type { BodyTemplate, HttpPhase, Template } from "../http-participants/template.js";
import type { DefinitionIssue } from "./definition-document-error.js";
import { childField, parseFieldPath, type PathSegment } from "./field-path.js";
import { inputSchemaIssues } from "./input-schema.js";
import type { SourceLocator } from "./read-source.js";
import { firstVariableIn, replaceVariables, standInFor, variableNamesIn, VariableSyntaxError } from "./variables.js";

type JsonObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The part of an InvalidArgumentError's or InvalidDefinitionError's message after its field. */
export function expectationOf(error: InvalidArgumentError | InvalidDefinitionError): string {
  const at = error.message.indexOf(`${error.field} `);
  return at === -1 ? error.message : error.message.slice(at + error.field.length + 1);
}

/** Collects issues, placing each in the text by its field. */
class IssueList {
  readonly issues: DefinitionIssue[] = [];
  readonly #locator: SourceLocator;
  readonly #source: string | undefined;

  constructor(locator: SourceLocator, source: string | undefined) {
    this.#locator = locator;
    this.#source = source;
  }

  /** Adds an issue about `field`, placed at its key when `atKey`, else at its value. */
  add(field: string, message: string, atKey = false): void {
    const segments: PathSegment[] = parseFieldPath(field) ?? [];
    const position = atKey ? this.#locator.keyAt(segments) : this.#locator.valueAt(segments);
    this.issues.push({
      ...(this.#source === undefined ? {} : { source: this.#source }),
      field,
      ...(position === undefined ? {} : { line: position.line, column: position.column }),
      message,
    });
  }
}

/**
 * The rules beyond the schema: exactly one of action and wait, unique step names, HTTP specs as
 * parseHttpCallSpec checks them (templates, `{{ output }}` only in compensations, `${NAME}`
 * syntax), `{{ steps.X.output }}` naming an earlier step, retry policies as the DSL resolves them,
 * and `input` as a usable JSON Schema. Parts the schema already refused are skipped.
 */
export function semanticIssues(value: unknown, locator: SourceLocator, source: string | undefined, reported: readonly DefinitionIssue[]): DefinitionIssue[] {
  const list = new IssueList(locator, source);
  if (!isPlainObject(value)) return list.issues;
  const clean = (field: string): boolean =>
    !reported.some((issue) => issue.field === field || issue.field.startsWith(`${field}.`) || issue.field.startsWith(`${field}[`));
  const saga = typeof value.name === "string" ? value.name : "?";
  const steps = Array.isArray(value.steps) ? value.steps : [];
  const earlier: string[] = [];
  steps.forEach((step: unknown, index) => {
    const field = `steps[${index}]`;
    if (!isPlainObject(step)) return;
    checkShape(step, field, list);
    const name = typeof step.name === "string" ? step.name : undefined;
    if (name !== undefined) {
      const first = earlier.indexOf(name);
      if (first !== -1) list.add(`${field}.name`, `repeats the name of steps[${first}]; step names must be unique`);
    }
    for (const [key, defaults] of [
      ["retry", DEFAULT_ACTION_RETRY],
      ["compensationRetry", DEFAULT_COMPENSATION_RETRY],
    ] as const) {
      if (step[key] !== undefined && clean(`${field}.${key}`)) checkRetry(saga, `${field}.${key}`, step[key], defaults, list);
    }
    for (const [key, phase] of [
      ["action", "action"],
      ["compensation", "compensation"],
    ] as const) {
      const call = step[key];
      const specField = `${field}.${key}.http`;
      if (isPlainObject(call) && isPlainObject(call.http) && clean(specField)) checkHttpCall(call.http, specField, phase, { name, earlier }, list);
    }
    if (name !== undefined && !earlier.includes(name)) earlier.push(name);
  });
  if (isPlainObject(value.input) && clean("input")) list.issues.push(...inputSchemaIssues(value.input, locator, source));
  return list.issues;
}

/** Exactly one of action, wait and sleep; what applies to which; what needs a compensation. */
function checkShape(step: JsonObject, field: string, list: IssueList): void {
  const hasAction = step.action !== undefined;
  const hasWait = step.wait !== undefined;
  const hasSleep = step.sleep !== undefined;
  if (!hasAction && !hasWait && !hasSleep) list.add(field, "needs an action (an HTTP call), a wait (an answer from outside, as for waitStep) or a sleep (a durable timer)");
  if (hasAction && hasWait) list.add(`${field}.wait`, "cannot be given with action: a step either calls (action) or waits for an answer from outside (wait); remove one", true);
  if (hasSleep && (hasAction || hasWait)) list.add(`${field}.sleep`, "cannot be given with action or wait: a sleep step only sleeps; remove one", true);
  if (hasSleep) {
    for (const key of ["compensation", "retry", "timeoutMs", "compensationRetry", "compensationTimeoutMs", "compensateOnFailure"]) {
      if (step[key] !== undefined) list.add(`${field}.${key}`, "does not apply to a sleep step (it calls nothing, so there is nothing to retry or undo)", true);
    }
  }
  if (hasWait && step.timeoutMs !== undefined) list.add(`${field}.timeoutMs`, "does not apply to a waiting step; write how long it waits as wait.timeoutMs", true);
  if (step.compensateOnFailure === true && step.compensation === undefined) list.add(`${field}.compensateOnFailure`, "needs a compensation to run; add one or remove this");
}

function checkRetry(saga: string, field: string, given: unknown, defaults: RetryPolicy, list: IssueList): void {
  try {
    resolveRetryPolicy(saga, field, given, defaults);
  } catch (error) {
    if (!(error instanceof InvalidDefinitionError)) throw error;
    list.add(error.field, expectationOf(error));
  }
}

interface StepScope {
  /** This step's name, when valid. */
  readonly name: string | undefined;
  /** The steps before it. */
  readonly earlier: readonly string[];
}

/**
 * Checks a spec as httpAction/httpCompensation will, with a stand-in for each `${NAME}` (the
 * variables are only known when the definition is built), then where its templates point.
 */
function checkHttpCall(spec: JsonObject, field: string, phase: HttpPhase, step: StepScope, list: IssueList): void {
  const before = list.issues.length;
  const standIn = { ...spec };
  if (typeof spec.url === "string") standIn.url = withStandIns(spec.url, `${field}.url`, "url", list);
  if (isPlainObject(spec.headers)) {
    standIn.headers = Object.fromEntries(
      Object.entries(spec.headers).map(([name, value]) => [name, typeof value === "string" ? withStandIns(value, childField(`${field}.headers`, name), "header", list) : value]),
    );
  }
  if (spec.body !== undefined) refuseBodyVariables(spec.body, `${field}.body`, list);
  if (list.issues.length > before) return;
  let call: CompiledHttpCall;
  try {
    call = compileHttpCall(standIn, field, phase);
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    list.add(error.field, expectationOf(error));
    return;
  }
  for (const template of templatesOf(call)) {
    for (const part of template.parts) {
      if (typeof part === "string" || part.root !== "step") continue;
      checkStepReference(part.stepName ?? "", part.expression, `${field}.${template.field}`, phase, step, list);
    }
  }
}

function withStandIns(text: string, field: string, place: "url" | "header", list: IssueList): string {
  try {
    variableNamesIn(text);
  } catch (error) {
    if (!(error instanceof VariableSyntaxError)) throw error;
    list.add(field, error.message);
    return text;
  }
  return replaceVariables(text, (_, offset) => standInFor(place, offset));
}

function refuseBodyVariables(value: unknown, field: string, list: IssueList): void {
  if (typeof value === "string") {
    const written = firstVariableIn(value);
    if (written !== undefined) {
      list.add(field, `holds ${written}, but variables are replaced only in url and header values; pass the value in the input and write {{ input.… }}`);
    }
  } else if (Array.isArray(value)) {
    value.forEach((item: unknown, index) => refuseBodyVariables(item, `${field}[${index}]`, list));
  } else if (isPlainObject(value)) {
    for (const [key, member] of Object.entries(value)) refuseBodyVariables(member, childField(field, key), list);
  }
}

/** Every template of a compiled call: the URL, the header values and the body's strings. */
function templatesOf(call: CompiledHttpCall): Template[] {
  const templates: Template[] = [call.url, ...call.headers.map(([, template]) => template)];
  const visit = (body: BodyTemplate): void => {
    switch (body.kind) {
      case "literal":
        return;
      case "value":
        templates.push({ field: body.field, parts: [body.reference] });
        return;
      case "text":
        templates.push(body.template);
        return;
      case "array":
        body.items.forEach(visit);
        return;
      case "object":
        for (const [, member] of body.entries) visit(member);
    }
  };
  if (call.body !== undefined) visit(call.body);
  return templates;
}

/** `{{ steps.X.output }}` resolves only when X is an earlier step; anything else fails every run. */
function checkStepReference(target: string, expression: string, field: string, phase: HttpPhase, step: StepScope, list: IssueList): void {
  if (step.earlier.includes(target)) return;
  if (target === step.name) {
    const advice = phase === "compensation" ? "a compensation reads its own action's output as {{ output… }}" : "an action cannot read its own output";
    list.add(field, `has {{ ${expression} }}, which names this very step; ${advice}`);
    return;
  }
  const known = step.earlier.length === 0 ? "none: this is the first step" : step.earlier.join(", ");
  list.add(field, `has {{ ${expression} }}, but ${JSON.stringify(target)} is not an earlier step (steps before this one: ${known})`);
}
