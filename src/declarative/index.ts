// Declarative saga definitions: sagas of HTTP calls and waiting steps written as JSON or YAML,
// checked against a published JSON Schema and built into the SagaDefinition the engine runs.
export { SAGA_DEFINITION_SCHEMA, MAX_STEPS } from "./saga-definition-schema.js";
export { parseDefinitionDocument, parseDefinitionValue } from "./parse-definition-document.js";
export type { ParseDefinitionOptions } from "./parse-definition-document.js";
export { buildDeclarativeSaga } from "./build-declarative-saga.js";
export type { BuildDeclarativeOptions } from "./build-declarative-saga.js";
export { definitionHash, canonicalDefinitionJson } from "./definition-hash.js";
export { loadDefinitionsDirectory } from "./load-definitions-directory.js";
export type { LoadedDefinition } from "./load-definitions-directory.js";
export { DefinitionDocumentError, formatIssue } from "./definition-document-error.js";
export type { DefinitionIssue, SourcePosition } from "./definition-document-error.js";
export { DocumentFormat, locateField, sourceOf } from "./saga-document.js";
export type { DeclarativeDocument, SagaDocument, StepDocument, CallDocument } from "./saga-document.js";
export { MAX_DOCUMENT_BYTES, MAX_ALIAS_EXPANSION } from "./read-source.js";
export type { DefinitionVariables } from "./variables.js";
