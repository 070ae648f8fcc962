import pc from "picocolors";
import type { ErrorInfo } from "../domain/error-info.js";
import type { SagaStatus } from "../domain/status.js";

/** Colours when stdout is a terminal (and NO_COLOR is unset); plain text otherwise. */
export function palette(stream: { isTTY?: boolean } = process.stdout): ReturnType<typeof pc.createColors> {
  return pc.createColors(stream.isTTY === true && pc.isColorSupported);
}

/** The colour functions `palette()` returns. */
export type Palette = ReturnType<typeof palette>;

/** Colours a saga status by how it ended. */
export function colourStatus(colours: Palette, status: SagaStatus): string {
  switch (status) {
    case "completed":
      return colours.green(status);
    case "compensated":
      return colours.yellow(status);
    case "failed":
      return colours.red(status);
    default:
      return colours.cyan(status);
  }
}

/**
 * Aligns rows under a header; `cells` may carry colour codes, which are not counted as width.
 * The last column is never padded, so lines carry no trailing spaces.
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[], colours: Palette): string {
  const widths = header.map((title, column) => Math.max(visibleLength(title), ...rows.map((row) => visibleLength(row[column] ?? ""))));
  const line = (cells: readonly string[]): string =>
    cells.map((cell, column) => (column === cells.length - 1 ? cell : pad(cell, widths[column] ?? 0))).join("  ");
  return [colours.bold(line(header)), ...rows.map(line)].join("\n");
}

function pad(text: string, width: number): string {
  return text + " ".repeat(Math.max(0, width - visibleLength(text)));
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

function visibleLength(text: string): number {
  return text.replace(ANSI, "").length;
}

/** `Name: message`, then one `caused by:` line per link of the cause chain. */
export function errorChain(error: ErrorInfo, indent = ""): string[] {
  const lines = [`${indent}${error.name}: ${error.message}`];
  let cause = error.cause;
  while (cause !== undefined) {
    lines.push(`${indent}  caused by ${cause.name}: ${cause.message}`);
    cause = cause.cause;
  }
  return lines;
}

/** A duration in a unit a human reads at a glance. */
export function duration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1_000).toFixed(2)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** A value in one line of JSON, cut to `max` characters. */
export function compactJson(value: unknown, max = 120): string {
  const text = JSON.stringify(value) ?? "null";
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Prints JSON the way every `--json` flag does: two-space indent, one trailing newline. */
export function printJson(value: unknown, write: (text: string) => void = (text) => process.stdout.write(text)): void {
  write(`${JSON.stringify(value, null, 2)}\n`);
}
