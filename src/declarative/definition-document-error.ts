import { InvalidDefinitionError } from "../errors.js";

/** A 1-based place in a document's text. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/** One problem with a declarative saga definition. */
export interface DefinitionIssue {
  /** The file (or other name) the document came from, when known. */
  readonly source?: string;
  /** The path of the offending field, e.g. `steps[1].action.http.method`; `""` for the whole document. */
  readonly field: string;
  /** 1-based, where the field (or, for a missing one, its parent) is written; absent when unknown. */
  readonly line?: number;
  readonly column?: number;
  /** What is wrong and, where it helps, what to write instead: `must be one of GET, POST, …`. */
  readonly message: string;
}

/** At most this many issues are listed in a message; `issues` holds them all. */
const MAX_LISTED_ISSUES = 50;

/**
 * One issue as a line: `order.yaml:12:9 steps[1].action.http.method must be one of GET, …`.
 * The place is left out when unknown; the whole document is named `document`.
 */
export function formatIssue(issue: DefinitionIssue): string {
  let place = issue.source ?? "";
  if (issue.line !== undefined) place += `${place === "" ? "line " : ":"}${issue.line}:${issue.column ?? 1}`;
  const subject = issue.field === "" ? "document" : issue.field;
  return `${place === "" ? "" : `${place} `}${subject} ${issue.message}`;
}

/**
 * A declarative saga definition was refused. `issues` lists every problem found, each with the
 * field and, when the document was parsed from text, its line and column. `field` (from
 * InvalidDefinitionError) is the first issue's.
 *
 * @example
 * try {
 *   parseDefinitionDocument(text, { source: "order.yaml" });
 * } catch (error) {
 *   if (error instanceof DefinitionDocumentError) for (const issue of error.issues) console.error(formatIssue(issue));
 * }
 */
export class DefinitionDocumentError extends InvalidDefinitionError {
  readonly issues: readonly DefinitionIssue[];
  /** The document's source, as given to the parser. */
  readonly source: string | undefined;

  /**
   * `definition` is the saga's name when the document got that far; `subject` replaces the
   * message's opening (`saga definition "order"`), e.g. for a whole directory.
   */
  constructor(issues: readonly DefinitionIssue[], options: { definition?: string | undefined; source?: string | undefined; subject?: string } = {}) {
    const [first] = issues;
    const definition = options.definition ?? options.source ?? "?";
    super(definition, first?.field ?? "", first?.message ?? "is invalid");
    this.issues = Object.freeze(issues.map((issue) => Object.freeze({ ...issue })));
    this.source = options.source;
    const listed = issues.slice(0, MAX_LISTED_ISSUES).map((issue) => `  ${formatIssue(issue)}`);
    if (issues.length > MAX_LISTED_ISSUES) listed.push(`  … and ${issues.length - MAX_LISTED_ISSUES} more`);
    const count = issues.length === 1 ? "1 problem" : `${issues.length} problems`;
    const subject = options.subject ?? `saga definition ${JSON.stringify(definition)}`;
    this.message = `${subject} has ${count}; fix ${issues.length === 1 ? "it" : "them"} and load it again:\n${listed.join("\n")}`;
  }
}
