import type { JsonValue } from "../domain/json.js";
import type { RetryOptions } from "../dsl/define-saga.js";
import type { HttpCallSpec } from "../http-participants/index.js";
import type { SourcePosition } from "./definition-document-error.js";
import { formatFieldPath, parseFieldPath } from "./field-path.js";

/** A step's HTTP call, as written (`${NAME}` variables unresolved). */
export interface CallDocument {
  readonly http: HttpCallSpec;
}

/** One step: exactly one of `action`, `wait` and `sleep`. */
export interface StepDocument {
  readonly name: string;
  readonly action?: CallDocument;
  /** A waiting step (`waitStep`): answered from outside with completeStep/failStep. */
  readonly wait?: { readonly timeoutMs?: number; readonly event?: string };
  /** A durable timer (`sleepStep`): sleeps this long, holding no worker. */
  readonly sleep?: { readonly durationMs: number };
  readonly compensation?: CallDocument;
  readonly retry?: RetryOptions;
  readonly timeoutMs?: number;
  readonly compensationRetry?: RetryOptions;
  readonly compensationTimeoutMs?: number;
  readonly pivot?: boolean;
  readonly compensateOnFailure?: boolean;
}

/** A declarative saga definition's data, as SAGA_DEFINITION_SCHEMA describes it. */
export interface SagaDocument {
  readonly $schema?: string;
  readonly name: string;
  readonly version: number;
  readonly description?: string;
  readonly maxRecoveries?: number;
  /** A JSON Schema (draft 2020-12) for the input. */
  readonly input?: { readonly [key: string]: JsonValue };
  readonly steps: readonly StepDocument[];
}

/**
 * A validated declarative definition: the document's data, deeply frozen, exactly as JSON can
 * hold it (`JSON.stringify` gives the document back; `${NAME}` variables stay unresolved). Where
 * each field was written is remembered beside it, for messages (see locateField).
 *
 * @example
 * const document = parseDefinitionDocument(readFileSync("order.yaml", "utf8"), { source: "order.yaml" });
 * const saga = buildDeclarativeSaga(document, { variables: process.env });
 */
export type DeclarativeDocument = SagaDocument;

/** Where a document came from, remembered beside it (not in it, so the data stays plain JSON). */
interface DocumentOrigin {
  readonly source: string | undefined;
  readonly positions: ReadonlyMap<string, SourcePosition>;
}

const origins = new WeakMap<DeclarativeDocument, DocumentOrigin>();

/** @internal used by the parser */
export function rememberOrigin(document: DeclarativeDocument, origin: DocumentOrigin): void {
  origins.set(document, origin);
}

/** The file (or other name) a parsed document came from; undefined for one given as data. */
export function sourceOf(document: DeclarativeDocument): string | undefined {
  return origins.get(document)?.source;
}

/**
 * Where `field` (e.g. `steps[0].action.http.url`) is written in the text the document was parsed
 * from: its nearest written ancestor when the field itself is absent; undefined for a document
 * given as data.
 */
export function locateField(document: DeclarativeDocument, field: string): SourcePosition | undefined {
  const positions = origins.get(document)?.positions;
  if (positions === undefined) return undefined;
  const segments = parseFieldPath(field) ?? [];
  for (let length = segments.length; length >= 0; length--) {
    const position = positions.get(formatFieldPath(segments.slice(0, length)));
    if (position !== undefined) return position;
  }
  return undefined;
}

/** The two notations a document can be written in. */
export const DocumentFormat = { Json: "json", Yaml: "yaml" } as const;
export type DocumentFormat = (typeof DocumentFormat)[keyof typeof DocumentFormat];
