import { readdir, readFile, stat } from "node:fs/promises";
import { extname, join } from "node:path";
import type { SagaDefinition } from "../dsl/define-saga.js";
import { InvalidArgumentError } from "../errors.js";
import { buildDeclarativeSaga } from "./build-declarative-saga.js";
import { definitionHash } from "./definition-hash.js";
import { DefinitionDocumentError, type DefinitionIssue } from "./definition-document-error.js";
import { parseDefinitionDocument } from "./parse-definition-document.js";
import { MAX_DOCUMENT_BYTES } from "./read-source.js";
import { locateField, type DeclarativeDocument, type DocumentFormat } from "./saga-document.js";
import type { DefinitionVariables } from "./variables.js";

/** One file of a definitions directory, parsed and built. */
export interface LoadedDefinition {
  /** The file's path: the directory joined with its name. */
  readonly file: string;
  readonly document: DeclarativeDocument;
  readonly definition: SagaDefinition<unknown>;
  /** definitionHash(document). */
  readonly hash: string;
}

const FORMATS: Readonly<Record<string, DocumentFormat>> = { ".json": "json", ".yaml": "yaml", ".yml": "yaml" };

/**
 * Reads every `*.json`, `*.yaml` and `*.yml` file of `dir` (not its subdirectories; symbolic links
 * are followed, as in a mounted ConfigMap; names starting with `.` are skipped), in name order,
 * parses and builds each. Problems in any file, and two files with the same name@version, are
 * reported together in one DefinitionDocumentError whose issues name their files. Throws
 * InvalidArgumentError when `dir` cannot be read. An empty directory gives an empty list.
 *
 * @example
 * const loaded = await loadDefinitionsDirectory("definitions", { variables: process.env });
 * const orchestrator = await Orchestrator.create({ store, definitions: loaded.map((l) => l.definition) });
 */
export async function loadDefinitionsDirectory(dir: string, options: { variables?: DefinitionVariables } = {}): Promise<LoadedDefinition[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => !name.startsWith(".") && FORMATS[extname(name).toLowerCase()] !== undefined).sort();
  } catch (error) {
    throw new InvalidArgumentError("definitions", `directory ${JSON.stringify(dir)} cannot be read: ${(error as Error).message}`);
  }
  const issues: DefinitionIssue[] = [];
  const loaded: LoadedDefinition[] = [];
  const byKey = new Map<string, string>();
  for (const name of names) {
    const file = join(dir, name);
    const info = await stat(file);
    if (!info.isFile()) continue;
    if (info.size > MAX_DOCUMENT_BYTES) {
      issues.push({ source: file, field: "", message: `is ${info.size} bytes long; at most ${MAX_DOCUMENT_BYTES} (1 MiB) are read` });
      continue;
    }
    try {
      const text = await readFile(file, "utf8");
      const document = parseDefinitionDocument(text, { source: file, format: FORMATS[extname(name).toLowerCase()] as DocumentFormat });
      const key = `${document.name}@${document.version}`;
      const first = byKey.get(key);
      if (first !== undefined) {
        const position = locateField(document, "version");
        issues.push({
          source: file,
          field: "version",
          ...(position === undefined ? {} : { line: position.line, column: position.column }),
          message: `repeats ${key}, already defined by ${first}; each name@version must be one document (give this one a new version)`,
        });
        continue;
      }
      byKey.set(key, file);
      loaded.push({ file, document, definition: buildDeclarativeSaga(document, options), hash: definitionHash(document) });
    } catch (error) {
      if (!(error instanceof DefinitionDocumentError)) throw error;
      issues.push(...error.issues);
    }
  }
  if (issues.length > 0) {
    const files = new Set(issues.map((issue) => issue.source));
    throw new DefinitionDocumentError(issues, { definition: dir, subject: `definitions directory ${JSON.stringify(dir)} (${files.size === 1 ? "1 file" : `${files.size} files`})` });
  }
  return loaded;
}
