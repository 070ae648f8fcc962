import { buildDeclarativeSaga, definitionHash, loadDefinitionsDirectory, parseDefinitionDocument, type DeclarativeDocument } from "../declarative/index.js";
import { DefinitionConflictError, InvalidArgumentError } from "../errors.js";
import type { Logger } from "../runtime/logger.js";
import type { Orchestrator } from "../runtime/orchestrator.js";
import { definitionKey, type SagaStore, type StoredDefinition } from "../store/saga-store.js";

/** How a definition document arrived: its text, and what to call it in messages. */
export interface DefinitionText {
  text: string;
  format?: "json" | "yaml";
  source?: string;
}

export interface PutOutcome {
  /** `created` the first time this name@version was saved; `unchanged` when the same document was already there. */
  status: "created" | "unchanged";
  definition: StoredDefinition;
}

/**
 * The declarative saga definitions of a fleet: saved in the store (so every worker and server
 * finds them, and a saved `name@version` never changes) and registered with this orchestrator.
 * `${VARIABLES}` in their URLs are resolved from `variables` on each server, so one definition can
 * serve environments whose participants live at different addresses.
 */
export class DefinitionCatalog {
  readonly #orchestrator: Orchestrator;
  readonly #store: SagaStore;
  readonly #variables: Record<string, string | undefined>;
  readonly #logger: Logger;
  /** name@version of stored definitions this server could not build, reported once each. */
  readonly #unbuildable = new Set<string>();
  /** name@version registered from documents (the rest of the orchestrator's come from code). */
  readonly #declarative = new Set<string>();

  constructor(options: { orchestrator: Orchestrator; store: SagaStore; variables: Record<string, string | undefined>; logger: Logger }) {
    this.#orchestrator = options.orchestrator;
    this.#store = options.store;
    this.#variables = options.variables;
    this.#logger = options.logger;
  }

  /**
   * Checks a document, saves it and registers it. Throws DefinitionDocumentError (with every issue
   * and its line) for an invalid one, DefinitionConflictError when its name@version holds another
   * document, and InvalidArgumentError when `expectedName` (from the URL) differs from its name.
   */
  async put(input: DefinitionText, expectedName?: string): Promise<PutOutcome> {
    const document = parseDefinitionDocument(input.text, { ...(input.format === undefined ? {} : { format: input.format }), ...(input.source === undefined ? {} : { source: input.source }) });
    if (expectedName !== undefined && document.name !== expectedName) {
      throw new InvalidArgumentError("name", `is ${JSON.stringify(document.name)} in the document but ${JSON.stringify(expectedName)} in the URL; they must match`);
    }
    // Built before it is saved: a document this server cannot run (an unset ${VARIABLE}) is refused, not stored.
    const definition = buildDeclarativeSaga(document, { variables: this.#variables });
    return this.#save(document, definition, definitionHash(document));
  }

  async #save(document: DeclarativeDocument, definition: ReturnType<typeof buildDeclarativeSaga>, hash: string): Promise<PutOutcome> {
    const key = definitionKey(document.name, document.version);
    if (this.#orchestrator.definitions.has(key) && !this.#declarative.has(key)) {
      throw new DefinitionConflictError(document.name, document.version, "is defined in code on this server");
    }
    const outcome = await this.#store.saveDefinition({ name: document.name, version: document.version, hash, document: document as unknown as StoredDefinition["document"] }, Date.now());
    if (!outcome.saved && outcome.reason === "conflict") throw new DefinitionConflictError(document.name, document.version, "is already saved with a different document");
    if (!this.#orchestrator.definitions.has(key)) this.#register(definition, key, hash);
    return { status: outcome.saved ? "created" : "unchanged", definition: outcome.definition };
  }

  /**
   * Registers every saved definition this orchestrator does not run yet: those other servers
   * saved since. One this server cannot build is logged once and skipped; its instances wait for
   * a server that can run them.
   */
  async refresh(): Promise<void> {
    for (const stored of await this.#store.listDefinitions()) {
      const key = definitionKey(stored.name, stored.version);
      if (this.#orchestrator.definitions.has(key) || this.#unbuildable.has(key)) continue;
      try {
        const document: DeclarativeDocument = parseDefinitionDocument(JSON.stringify(stored.document), { format: "json", source: `saved ${key}` });
        this.#register(buildDeclarativeSaga(document, { variables: this.#variables }), key, stored.hash);
      } catch (error) {
        this.#unbuildable.add(key);
        this.#logger.error({ definition: key, err: error }, "a saved saga definition cannot run on this server; its sagas wait for one that can");
      }
    }
  }

  #register(definition: Parameters<Orchestrator["register"]>[0], key: string, hash: string): void {
    this.#orchestrator.register(definition);
    this.#declarative.add(key);
    this.#logger.info({ definition: key, hash }, "saga definition registered");
  }

  /**
   * Saves and registers every *.json, *.yaml and *.yml file of `dir` (not recursive). All files are
   * checked first, so one bad file (its issues name it and their lines) saves none of them.
   */
  async loadDirectory(dir: string): Promise<PutOutcome[]> {
    const loaded = await loadDefinitionsDirectory(dir, { variables: this.#variables });
    const outcomes: PutOutcome[] = [];
    for (const { document, definition, hash } of loaded) outcomes.push(await this.#save(document, definition, hash));
    return outcomes;
  }

  /** Calls `refresh` every `intervalMs` until the returned function is called. */
  refreshEvery(intervalMs: number): () => void {
    const timer = setInterval(() => {
      this.refresh().catch((error: unknown) => this.#logger.error({ err: error }, "refreshing saga definitions from the store failed"));
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}
