// @ts-check
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

/** Layers that must stay pure: no Node built-ins, no I/O packages, no runtime or adapters. */
const pureLayers = ["src/domain/**", "src/dsl/**", "src/engine/**"];
const ioModules = ["node:*", "fs", "path", "os", "child_process", "better-sqlite3", "pino", "commander", "picocolors", "cli-progress"];

export default defineConfig(
  { ignores: ["dist/**", "dashboard/dist/**", "node_modules/**", "bench/results/**", "test-results/**", ".tmp/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/only-throw-error": "error",
    },
  },
  {
    files: pureLayers,
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ioModules, message: "domain, dsl and engine are pure: no I/O imports (see docs/architecture.md)." },
            { group: ["**/runtime/**", "**/store/**", "**/cli/**", "**/examples/**"], message: "pure layers must not import outer layers." },
          ],
        },
      ],
      "no-restricted-globals": ["error", "Date", "setTimeout", "setInterval", "process", "fetch"],
      "no-restricted-properties": ["error", { object: "Math", property: "random", message: "pass randomness in (e.g. event.jitter)." }],
    },
  },
  {
    files: ["src/store/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["**/runtime/**", "**/cli/**", "**/examples/**", "**/engine/**"], message: "stores see domain types only." }] },
      ],
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
);
