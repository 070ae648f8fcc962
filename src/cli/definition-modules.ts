import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { AnyDefinition } from "../runtime/orchestrator.js";
import { UsageError } from "./errors.js";

/**
 * The saga definitions exported by the modules `--module` names: each module exports a
 * `definitions` array, or a default export that is one definition or an array of them, as built
 * by `defineSaga(...).build()`. A module that exports none, or something else, is refused by name.
 */
export async function loadDefinitionModules(paths: readonly string[]): Promise<AnyDefinition[]> {
  const found: AnyDefinition[] = [];
  for (const path of paths) {
    let module: Record<string, unknown>;
    try {
      module = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
    } catch (error) {
      throw new UsageError(`--module ${path} could not be loaded: ${error instanceof Error ? error.message : String(error)}`);
    }
    const exported = module.definitions ?? module.default;
    const list = Array.isArray(exported) ? (exported as unknown[]) : exported === undefined ? [] : [exported];
    if (list.length === 0) throw new UsageError(`--module ${path} exports no saga definitions: export \`definitions\` (an array) or a default export`);
    list.forEach((candidate, index) => {
      if (!isDefinition(candidate)) {
        const which = Array.isArray(exported) ? `export [${index}]` : "its export";
        throw new UsageError(`--module ${path}: ${which} is not a saga definition built by defineSaga(...).build()`);
      }
      found.push(candidate);
    });
  }
  return found;
}

function isDefinition(value: unknown): value is AnyDefinition {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Partial<AnyDefinition>;
  return typeof candidate.name === "string" && typeof candidate.version === "number" && typeof candidate.plan === "object" && Array.isArray(candidate.steps);
}
