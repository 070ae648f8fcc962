import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type YAMLError } from "yaml";
import type { JsonValue } from "../domain/json.js";
import type { DefinitionIssue, SourcePosition } from "./definition-document-error.js";
import { formatFieldPath, type PathSegment } from "./field-path.js";
import { findJsonSyntaxError, MAX_JSON_DEPTH } from "./json-syntax.js";
import { DocumentFormat } from "./saga-document.js";

/** Longer texts are refused before parsing. */
export const MAX_DOCUMENT_BYTES = 1024 * 1024;

/**
 * Values reached through YAML aliases, counted over the whole document. An alias may stand for a
 * whole subtree, so a few nested aliases can stand for billions of values (a "billion laughs"
 * document); this bounds the expansion, leaving room for legitimate reuse (`retry: *fast` on
 * every step).
 */
export const MAX_ALIAS_EXPANSION = 10_000;

/** Issues past this many are dropped: a broken text can yield one per character. */
const MAX_SYNTAX_ISSUES = 20;

/** What reading a text produced: its JSON data (when readable), where each part is, and the problems. */
export interface SourceReading {
  readonly value: JsonValue | undefined;
  readonly issues: DefinitionIssue[];
  readonly locator: SourceLocator;
}

interface Span {
  readonly field: string;
  readonly start: number;
  readonly end: number;
}

/** Maps field paths back to places in the text. */
export class SourceLocator {
  readonly #lines: LineCounter | undefined;
  /** Where each value starts, by field. */
  readonly #values = new Map<string, number>();
  /** Where each member's key starts, by the member's field. */
  readonly #keys = new Map<string, number>();
  readonly #spans: Span[] = [];

  constructor(lines?: LineCounter) {
    this.#lines = lines;
  }

  /** @internal recorded while reading */
  record(field: string, valueRange: readonly number[] | null | undefined, keyStart?: number): void {
    const [start, end] = valueRange ?? [];
    if (start !== undefined && !this.#values.has(field)) this.#values.set(field, start);
    if (keyStart !== undefined && !this.#keys.has(field)) this.#keys.set(field, keyStart);
    const from = keyStart ?? start;
    if (from !== undefined) this.#spans.push({ field, start: from, end: end ?? from });
  }

  /** The position of an offset into the text. */
  position(offset: number): SourcePosition | undefined {
    if (this.#lines === undefined) return undefined;
    const { line, col } = this.#lines.linePos(offset);
    return line === 0 ? { line: 1, column: col + 1 } : { line, column: col };
  }

  /** Where the value at `segments` is written, or its nearest written ancestor. */
  valueAt(segments: readonly PathSegment[]): SourcePosition | undefined {
    for (let length = segments.length; length >= 0; length--) {
      const offset = this.#values.get(formatFieldPath(segments.slice(0, length)));
      if (offset !== undefined) return this.position(offset);
    }
    return undefined;
  }

  /** Where the key of the member at `segments` is written (else its value's place). */
  keyAt(segments: readonly PathSegment[]): SourcePosition | undefined {
    const offset = this.#keys.get(formatFieldPath(segments));
    return offset === undefined ? this.valueAt(segments) : this.position(offset);
  }

  /** The innermost field written around `offset` (`""` for none). */
  fieldAt(offset: number): string {
    let best: Span | undefined;
    for (const span of this.#spans) {
      // The end is included: YAML reports a missing closing quote just past the scalar.
      if (span.start <= offset && offset <= span.end && (best === undefined || span.end - span.start <= best.end - best.start)) best = span;
    }
    return best?.field ?? "";
  }

  /** Every value's position by field, for a DeclarativeDocument. */
  positions(): Map<string, SourcePosition> {
    const positions = new Map<string, SourcePosition>();
    for (const [field, offset] of this.#values) {
      const position = this.position(offset);
      if (position !== undefined) positions.set(field, position);
    }
    return positions;
  }
}

/** Which notation `text` is in: `format` if given, else the file extension, else `{` means JSON. */
export function detectFormat(text: string, format: DocumentFormat | undefined, source: string | undefined): DocumentFormat {
  if (format !== undefined) return format;
  if (source !== undefined && /\.json$/i.test(source)) return DocumentFormat.Json;
  if (source !== undefined && /\.ya?ml$/i.test(source)) return DocumentFormat.Yaml;
  return /^\uFEFF?\s*\{/.test(text) ? DocumentFormat.Json : DocumentFormat.Yaml;
}

/**
 * Reads JSON or YAML text into JSON data, refusing what JSON cannot hold or what could exhaust
 * memory: duplicate keys, tags (`!!binary`, `!!timestamp`, custom ones), non-finite numbers,
 * more than one document, alias bombs and deep nesting. JSON is first checked as strict JSON,
 * then read by the YAML parser too (JSON is YAML), so that both report lines and columns.
 */
export function readSource(text: string, format: DocumentFormat, source: string | undefined): SourceReading {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_DOCUMENT_BYTES) {
    return { value: undefined, issues: [{ ...at(source), field: "", message: `is ${bytes} bytes long; at most ${MAX_DOCUMENT_BYTES} (1 MiB) are read` }], locator: new SourceLocator() };
  }
  const lines = new LineCounter();
  if (format === DocumentFormat.Json) {
    const syntax = findJsonSyntaxError(text);
    if (syntax !== undefined) {
      // Count lines without parsing: the text may be arbitrarily broken.
      lines.addNewLine(0);
      for (let index = text.indexOf("\n"); index !== -1; index = text.indexOf("\n", index + 1)) lines.addNewLine(index + 1);
      const locator = new SourceLocator(lines);
      return { value: undefined, issues: [{ ...at(source, locator.position(syntax.offset)), field: "", message: `is not valid JSON: ${syntax.message}` }], locator };
    }
  }
  // The YAML parser recurses once per nested [ or {: thousands of them exhaust the stack (V8 then
  // aborts the process rather than throwing), so such a text is refused before it is parsed.
  const tooDeep = deepFlowNesting(text);
  if (tooDeep !== undefined) {
    const counted = new LineCounter();
    counted.addNewLine(0);
    for (let index = text.indexOf("\n"); index !== -1 && index < tooDeep; index = text.indexOf("\n", index + 1)) counted.addNewLine(index + 1);
    const locator = new SourceLocator(counted);
    return { value: undefined, issues: [{ ...at(source, locator.position(tooDeep)), field: "", message: `nests deeper than ${MAX_JSON_DEPTH} levels` }], locator };
  }
  const document = parseDocument(text, {
    lineCounter: lines,
    // YAML 1.2 core schema without YAML 1.1's extra types: `2024-01-01` and `yes` stay strings.
    schema: "core",
    resolveKnownTags: false,
    merge: false,
    stringKeys: true,
    uniqueKeys: true,
    prettyErrors: false,
    version: "1.2",
  });
  const locator = new SourceLocator(lines);
  const reader = new NodeReader(document, locator, source);
  const value = document.contents === null ? null : reader.read(document.contents, [], 0);

  const yamlProblems = [...document.errors, ...document.warnings.filter((warning) => warning.code !== "TAG_RESOLVE_FAILED")];
  if (yamlProblems.length > 0) {
    const issues = [...yamlProblems.map((problem) => yamlIssue(problem, format, locator, source)), ...reader.issues];
    return { value: undefined, issues: issues.slice(0, MAX_SYNTAX_ISSUES), locator };
  }
  if (document.contents === null) return { value: undefined, issues: [{ ...at(source, locator.position(0)), field: "", message: "is empty; a saga definition needs at least name, version and steps" }], locator };
  return reader.issues.length > 0 ? { value: undefined, issues: reader.issues.slice(0, MAX_SYNTAX_ISSUES), locator } : { value, issues: [], locator };
}

function at(source: string | undefined, position?: SourcePosition): { source?: string; line?: number; column?: number } {
  return { ...(source === undefined ? {} : { source }), ...(position === undefined ? {} : { line: position.line, column: position.column }) };
}

function yamlIssue(problem: YAMLError, format: DocumentFormat, locator: SourceLocator, source: string | undefined): DefinitionIssue {
  const [offset] = problem.pos;
  // A second document is about the file, not about the field it happens to follow.
  const field = problem.code === "MULTIPLE_DOCS" ? "" : locator.fieldAt(offset);
  const position = locator.position(offset);
  const message =
    problem.code === "DUPLICATE_KEY"
      ? `is written twice; keys must be unique (remove one of them)`
      : problem.code === "MULTIPLE_DOCS"
        ? "is followed by a second document (`---`); a file holds one saga definition"
        : `is not valid ${format === DocumentFormat.Json ? "JSON" : "YAML"}: ${problem.message}`;
  return { ...at(source, position), field, message };
}

/** Turns YAML nodes into JSON data, recording positions and refusing what JSON cannot hold. */
class NodeReader {
  readonly issues: DefinitionIssue[] = [];
  readonly #document: Document;
  readonly #locator: SourceLocator;
  readonly #source: string | undefined;
  #aliasValues = 0;
  #aliasLimitHit = false;

  constructor(document: Document, locator: SourceLocator, source: string | undefined) {
    this.#document = document;
    this.#locator = locator;
    this.#source = source;
  }

  /**
   * `alias` is the outermost alias being expanded, if any: a bomb is reported where it is
   * written, not deep inside the values it repeats.
   */
  read(node: unknown, path: readonly PathSegment[], depth: number, alias?: { field: string; range: readonly number[] | null | undefined }, keyStart?: number): JsonValue {
    const field = formatFieldPath(path);
    const range = (node as Node | null)?.range;
    if (alias === undefined) this.#locator.record(field, range, keyStart);
    if (this.#aliasLimitHit) return null;
    if (alias !== undefined && ++this.#aliasValues > MAX_ALIAS_EXPANSION) {
      this.#aliasLimitHit = true;
      this.#refuse(alias.field, alias.range, `expands YAML aliases to more than ${MAX_ALIAS_EXPANSION} values (an alias bomb?); write the values out, or alias smaller parts`);
      return null;
    }
    if (depth > MAX_JSON_DEPTH) {
      this.#refuse(field, range, `nests deeper than ${MAX_JSON_DEPTH} levels`);
      return null;
    }
    if (isAlias(node)) {
      const target = node.resolve(this.#document);
      if (target === undefined) {
        this.#refuse(field, range, `is an alias (*${node.source}) to no anchor`);
        return null;
      }
      return this.read(target, path, depth + 1, alias ?? { field, range });
    }
    const tag = (node as { tag?: string } | null)?.tag;
    if (tag !== undefined) {
      this.#refuse(field, range, `has the tag ${tag}; only plain JSON values are allowed (strings, numbers, booleans, null, maps and lists), so remove the tag and quote the value if needed`);
      return null;
    }
    if (isMap(node)) {
      const entries: [string, JsonValue][] = [];
      for (const pair of node.items) {
        if (!isScalar(pair.key) || typeof pair.key.value !== "string") {
          this.#refuse(field, (pair.key as Node | null)?.range, "has a key that is not a string; keys must be plain strings");
          continue;
        }
        const key = pair.key.value;
        entries.push([key, this.read(pair.value, [...path, key], depth + 1, alias, pair.key.range?.[0])]);
      }
      // fromEntries defines members, so a "__proto__" key stays data instead of setting the prototype.
      return Object.fromEntries(entries);
    }
    if (isSeq(node)) {
      return node.items.map((item, index) => this.read(item, [...path, index], depth + 1, alias));
    }
    if (isScalar(node) || node === null) {
      const value = node === null ? null : node.value;
      if (value === null || typeof value === "string" || typeof value === "boolean") return value;
      if (typeof value === "number") {
        if (Number.isFinite(value)) return value;
        this.#refuse(field, range, `is ${String(value)}, which JSON cannot hold; write a finite number`);
        return null;
      }
      this.#refuse(field, range, `is not a JSON value (got ${typeof value})`);
      return null;
    }
    this.#refuse(field, range, "is not a JSON value");
    return null;
  }

  #refuse(field: string, range: readonly number[] | null | undefined, message: string): void {
    const offset = range?.[0];
    this.issues.push({ ...at(this.#source, offset === undefined ? undefined : this.#locator.position(offset)), field, message });
  }
}

/**
 * The offset of the first `[` or `{` nested deeper than MAX_JSON_DEPTH, outside quoted strings and
 * comments; undefined when there is none. A scan, not a parse: it only bounds the parser's depth,
 * and counts brackets in YAML plain scalars too, which errs on the side of refusing.
 */
function deepFlowNesting(text: string): number | undefined {
  let depth = 0;
  let quote: string | undefined;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (quote !== undefined) {
      if (char === "\\" && quote === '"') index++;
      else if (char === quote) quote = undefined;
      continue;
    }
    if (char === '"' || char === "'") quote = char;
    else if (char === "#" && (index === 0 || /\s/.test(text[index - 1] ?? ""))) {
      const end = text.indexOf("\n", index);
      if (end === -1) break;
      index = end;
    } else if (char === "[" || char === "{") {
      if (++depth > MAX_JSON_DEPTH) return index;
    } else if ((char === "]" || char === "}") && depth > 0) depth--;
  }
  return undefined;
}
