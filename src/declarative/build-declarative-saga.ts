import { defineSaga, type SagaBuilder, type SagaDefinition } from "../dsl/define-saga.js";
import { InvalidArgumentError, InvalidDefinitionError } from "../errors.js";
import { httpAction, httpCompensation, parseHttpCallSpec, type HttpCallSpec, type HttpPhase } from "../http-participants/index.js";
import { DefinitionDocumentError, type DefinitionIssue } from "./definition-document-error.js";
import { childField } from "./field-path.js";
import { createInputParser } from "./input-schema.js";
import { locateField, sourceOf, type DeclarativeDocument, type StepDocument } from "./saga-document.js";
import { expectationOf } from "./semantic-issues.js";
import { replaceVariables, variableNamesIn, type DefinitionVariables } from "./variables.js";

/** How buildDeclarativeSaga resolves what the document leaves to the deployment. */
export interface BuildDeclarativeOptions {
  /**
   * The values of `${NAME}` references in URLs and header values, e.g. `process.env`. A reference
   * to a name that is not set here is an error. Default: none.
   */
  variables?: DefinitionVariables;
}

type Builder = SagaBuilder<unknown, Record<never, never>>;

/**
 * Builds a parsed document into the SagaDefinition the engine runs, as defineSaga would: HTTP
 * steps via httpAction/httpCompensation, waiting steps via waitStep, and `input` (when given) as
 * the definition's parseInput. `${NAME}` variables in URLs and header values are replaced here;
 * a missing one, or a value that makes the call invalid, throws DefinitionDocumentError naming
 * the field, the variable and (for a parsed text) the line. Values are never quoted in messages:
 * they may be secrets.
 *
 * @example
 * const saga = buildDeclarativeSaga(parseDefinitionDocument(text, { source: "order.yaml" }), { variables: process.env });
 * const orchestrator = await Orchestrator.create({ store, definitions: [saga] });
 */
export function buildDeclarativeSaga(document: DeclarativeDocument, options: BuildDeclarativeOptions = {}): SagaDefinition<unknown> {
  const variables = options.variables ?? {};
  const issues: DefinitionIssue[] = [];
  const source = sourceOf(document);
  const report = (field: string, message: string): void => {
    const position = locateField(document, field);
    issues.push({ ...(source === undefined ? {} : { source }), field, ...(position === undefined ? {} : { line: position.line, column: position.column }), message });
  };
  const specs = document.steps.map((step, index) => ({
    action: step.action === undefined ? undefined : resolveSpec(step.action.http, `steps[${index}].action.http`, "action", variables, report),
    compensation: step.compensation === undefined ? undefined : resolveSpec(step.compensation.http, `steps[${index}].compensation.http`, "compensation", variables, report),
  }));
  if (issues.length > 0) throw new DefinitionDocumentError(issues, { definition: document.name, source });

  try {
    let builder: Builder = defineSaga<unknown>({
      name: document.name,
      version: document.version,
      ...(document.maxRecoveries === undefined ? {} : { maxRecoveries: document.maxRecoveries }),
      ...(document.input === undefined ? {} : { parseInput: createInputParser(document.input) }),
    });
    document.steps.forEach((step, index) => {
      const { action, compensation } = specs[index] ?? {};
      builder = addStep(builder, step, action, compensation);
    });
    return builder.build();
  } catch (error) {
    // The parser checked all of this; a failure here means the document was not parsed by it.
    if (error instanceof InvalidDefinitionError || error instanceof InvalidArgumentError) {
      report(error.field, expectationOf(error));
      throw new DefinitionDocumentError(issues, { definition: document.name, source });
    }
    throw error;
  }
}

function addStep(builder: Builder, step: StepDocument, action: HttpCallSpec | undefined, compensation: HttpCallSpec | undefined): Builder {
  const shared = {
    ...(compensation === undefined ? {} : { compensate: httpCompensation(compensation) }),
    ...(step.retry === undefined ? {} : { retry: step.retry }),
    ...(step.compensationRetry === undefined ? {} : { compensationRetry: step.compensationRetry }),
    ...(step.compensationTimeoutMs === undefined ? {} : { compensationTimeoutMs: step.compensationTimeoutMs }),
    ...(step.pivot === undefined ? {} : { pivot: step.pivot }),
    ...(step.compensateOnFailure === undefined ? {} : { compensateOnFailure: step.compensateOnFailure }),
  };
  if (step.sleep !== undefined) return builder.sleepStep(step.name, { durationMs: step.sleep.durationMs, ...(step.pivot === undefined ? {} : { pivot: step.pivot }) });
  if (step.wait !== undefined) {
    return builder.waitStep(step.name, {
      ...shared,
      ...(step.wait.timeoutMs === undefined ? {} : { timeoutMs: step.wait.timeoutMs }),
      ...(step.wait.event === undefined ? {} : { event: step.wait.event }),
    });
  }
  if (action === undefined) throw new InvalidDefinitionError(step.name, "action", "is required for a step that does not wait");
  return builder.step(step.name, { ...shared, action: httpAction(action), ...(step.timeoutMs === undefined ? {} : { timeoutMs: step.timeoutMs }) });
}

/**
 * The spec with `${NAME}` replaced in its URL and header values, checked again as the step will
 * use it; undefined (with issues reported) when a variable is missing or its value breaks the call.
 */
function resolveSpec(
  spec: HttpCallSpec,
  field: string,
  phase: HttpPhase,
  variables: DefinitionVariables,
  report: (field: string, message: string) => void,
): HttpCallSpec | undefined {
  let usable = true;
  const used: string[] = [];
  const resolve = (text: string, at: string): string => {
    for (const name of new Set(variableNamesIn(text))) {
      used.push(name);
      const value = Object.hasOwn(variables, name) ? variables[name] : undefined;
      if (value === undefined) {
        report(at, `uses \${${name}}, but the variable ${name} is not set; set it where the definition is loaded (e.g. the server's environment)`);
        usable = false;
      } else if (value.includes("{{") || value.includes("}}")) {
        report(at, `uses \${${name}}, whose value holds "{{" or "}}", which would be read as a placeholder; variables are plain text`);
        usable = false;
      }
    }
    return replaceVariables(text, (name) => variables[name] ?? "");
  };
  const resolved: HttpCallSpec = { ...spec, url: resolve(spec.url, `${field}.url`) };
  if (spec.headers !== undefined) {
    resolved.headers = Object.fromEntries(Object.entries(spec.headers).map(([name, value]) => [name, resolve(value, childField(`${field}.headers`, name))]));
  }
  if (!usable) return undefined;
  if (used.length === 0) return spec;
  try {
    return parseHttpCallSpec(resolved, field, phase);
  } catch (error) {
    if (!(error instanceof InvalidArgumentError)) throw error;
    // The value is left out: it may be a secret (a token in a header).
    const expected = expectationOf(error).replace(/, got .*$/s, "");
    const unique = [...new Set(used)];
    const names = unique.map((name) => `\${${name}}`).join(", ");
    report(error.field, `${expected} once ${names} ${unique.length === 1 ? "is" : "are"} replaced; check the ${unique.length === 1 ? "variable's value" : "variables' values"}`);
    return undefined;
  }
}
