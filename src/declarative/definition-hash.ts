import { createHash } from "node:crypto";
import type { JsonValue } from "../domain/json.js";
import type { DeclarativeDocument } from "./saga-document.js";

/**
 * JSON text with object keys sorted (by UTF-16 code units) and no whitespace, so equal data always
 * gives equal text, whatever the key order, notation or formatting it was written in.
 */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key] as JsonValue)}`).join(",")}}`;
}

/**
 * The document as canonical JSON, without `$schema` (editor metadata): what definitionHash hashes,
 * and a form to store it in (parseDefinitionDocument reads it back).
 */
export function canonicalDefinitionJson(document: DeclarativeDocument): string {
  const { $schema: _editorHint, ...meaning } = document;
  return canonicalJson(meaning as unknown as JsonValue);
}

/**
 * The SHA-256 (hex) of the document's canonical JSON: equal for the same definition written with
 * other key order, notation (JSON or YAML), comments or formatting; different for any change to a
 * value. A server tells "the same name@version again" (idempotent) from "a different document
 * under the same name@version" (a conflict) by it.
 *
 * @example
 * if (definitionHash(incoming) !== stored.hash) throw new DefinitionConflictError(incoming.name, incoming.version, "…");
 */
export function definitionHash(document: DeclarativeDocument): string {
  return createHash("sha256").update(canonicalDefinitionJson(document), "utf8").digest("hex");
}
