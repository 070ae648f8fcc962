import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");
const src = join(root, "src");

/** Every import specifier of a source file (static `import … from`, `export … from`, dynamic `import()`). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const found: string[] = [];
  for (const match of text.matchAll(/(?:import|export)\s[^"';]*?from\s+"([^"]+)"|import\(\s*"([^"]+)"\s*\)|^import\s+"([^"]+)"/gm)) {
    const specifier = match[1] ?? match[2] ?? match[3];
    if (specifier !== undefined) found.push(specifier);
  }
  return found;
}

function resolveLocal(from: string, specifier: string): string {
  return resolve(dirname(from), specifier.replace(/\.js$/, ".ts"));
}

/** The files and packages reachable from `entry` through imports. */
function closure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (files.has(file)) continue;
    files.add(file);
    for (const specifier of importsOf(file)) {
      if (specifier.startsWith(".")) queue.push(resolveLocal(file, specifier));
      else packages.add(specifier);
    }
  }
  return { files, packages };
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

const rel = (files: Iterable<string>): string[] => [...files].map((f) => relative(src, f)).sort();

describe("layering", () => {
  it("the main entry loads no database driver, CLI or example", () => {
    const { files, packages } = closure(join(src, "index.ts"));
    expect([...packages].filter((p) => !p.startsWith("node:"))).toEqual([]);
    expect(rel(files).filter((f) => /^(store\/(sqlite|memory|postgres)|cli|examples)\//.test(f))).toEqual([]);
  });

  it.each(["engine/index.ts", "dsl/index.ts", "domain/index.ts"])("%s is pure: no packages, no Node built-ins, no outer layers", (entry) => {
    const { files, packages } = closure(join(src, entry));
    expect([...packages]).toEqual([]);
    expect(rel(files).filter((f) => !/^(domain|dsl|engine)\/|^errors\.ts$/.test(f))).toEqual([]);
  });

  it("the store adapters depend on the contract and the domain, never on the runtime or engine", () => {
    for (const entry of ["store/memory/index.ts", "store/sqlite/index.ts", "store/postgres/index.ts"]) {
      const { files } = closure(join(src, entry));
      expect(rel(files).filter((f) => /^(runtime|engine|dsl|cli|examples)\//.test(f))).toEqual([]);
    }
  });

  it("the HTTP server builds on the runtime alone: no store adapter, database driver, CLI or example", () => {
    const { files, packages } = closure(join(src, "server/index.ts"));
    expect(rel(files).filter((f) => /^(store\/(sqlite|memory|postgres)|cli|examples)\//.test(f))).toEqual([]);
    expect([...packages].filter((p) => ["pg", "better-sqlite3", "commander"].includes(p))).toEqual([]);
  });

  it("HTTP participant steps need only the platform's fetch and the OpenTelemetry API: no store, server or CLI", () => {
    const { files, packages } = closure(join(src, "http-participants/index.ts"));
    expect([...packages].filter((p) => !p.startsWith("node:"))).toEqual(["@opentelemetry/api"]);
    expect(rel(files).filter((f) => /^(store|server|cli|examples|runtime)\//.test(f))).toEqual([]);
  });

  it("declarative sagas build on the DSL and HTTP steps: no store, server, runtime or CLI", () => {
    const { files } = closure(join(src, "declarative/index.ts"));
    expect(rel(files).filter((f) => /^(store|server|cli|examples|runtime)\//.test(f))).toEqual([]);
  });

  it("has no import cycles between source files", () => {
    const graph = new Map(sourceFiles(src).map((file) => [file, importsOf(file).filter((s) => s.startsWith(".")).map((s) => resolveLocal(file, s))]));
    const state = new Map<string, "visiting" | "done">();
    const cycles: string[] = [];
    const visit = (file: string, path: string[]): void => {
      if (state.get(file) === "done") return;
      if (state.get(file) === "visiting") {
        cycles.push(rel(path.slice(path.indexOf(file))).join(" → "));
        return;
      }
      state.set(file, "visiting");
      for (const next of graph.get(file) ?? []) visit(next, [...path, next]);
      state.set(file, "done");
    };
    for (const file of graph.keys()) visit(file, [file]);
    expect(cycles).toEqual([]);
  });
});
