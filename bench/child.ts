// Parts of the benchmark run in child processes: a clean heap for the memory figure, a process to
// SIGKILL for recovery, and DBOS's process-wide singleton. They talk one JSON object per stdout line.
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The repository root; children run with it as their working directory so `--import tsx` resolves. */
export const BENCH_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** A line a child writes: progress, a readiness signal, its result, or its failure. */
export type ChildEvent =
  | { type: "progress"; task?: string }
  | { type: "ready"; [key: string]: unknown }
  | { type: "result"; value: unknown }
  | { type: "error"; message: string };

/** Whether the module at `moduleUrl` is the script this process was started with. */
export function isEntryPoint(moduleUrl: string): boolean {
  const script = process.argv[1];
  return script !== undefined && pathToFileURL(resolve(script)).href === moduleUrl;
}

/** In a child: writes one event line. */
export function emit(event: ChildEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

/** In a child: the JSON argument its parent passed. */
export function childArgument<T>(): T {
  const raw = process.argv[2];
  if (raw === undefined) throw new Error("bench child: missing its JSON argument");
  return JSON.parse(raw) as T;
}

/**
 * Stack traces as a compiled application's are by default: with the positions of the code that
 * runs, not mapped back to the TypeScript sources. tsx, which runs the bench from the sources,
 * turns Node's source maps on, and then every `error.stack` a failing step's error is read for
 * (the history keeps it, G6) walks the maps: that made the compensate rows, whose third step
 * throws, 4–5× slower than the success rows instead of the 2.5× they are compiled (about 8,000
 * against 4,400 sagas/s on the memory store at C=512 with `--enable-source-maps`). Called first by
 * the bench's entry point and each of its children, DBOS's included, so both sides run the same.
 */
export function plainStackTraces(): void {
  process.setSourceMapsEnabled(false);
}

/** In a child: runs `main`, reporting its value or failure as the last line, then exits. */
export function runAsChild(main: () => Promise<unknown>): void {
  plainStackTraces();
  main().then(
    (value) => {
      emit({ type: "result", value });
      process.exit(0);
    },
    (error: unknown) => {
      emit({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      process.exit(1);
    },
  );
}

export interface ChildRun {
  child: ChildProcess;
  /** Resolves with the child's `result` value; rejects with its error, or its stderr if it died. */
  result: Promise<unknown>;
}

/** Starts `node --import tsx <script> <json>` from the repository root; `onEvent` hears every line. */
export function startChild(script: string, argument: unknown, onEvent: (event: ChildEvent) => void = () => undefined, nodeFlags: string[] = []): ChildRun {
  const child = spawn(process.execPath, ["--import", "tsx", "--no-deprecation", ...nodeFlags, script, JSON.stringify(argument)], {
    cwd: BENCH_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let buffer = "";
  let value: { ok: true; value: unknown } | { ok: false; message: string } | undefined;
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (!line.startsWith("{")) continue;
      let event: ChildEvent;
      try {
        event = JSON.parse(line) as ChildEvent;
      } catch {
        continue;
      }
      if (event.type === "result") value = { ok: true, value: event.value };
      else if (event.type === "error") value = { ok: false, message: event.message };
      onEvent(event);
    }
  });
  const result = new Promise<unknown>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (value?.ok === true) resolve(value.value);
      else if (value?.ok === false) reject(new Error(value.message));
      else reject(new Error(`${script} exited (${signal ?? code}) without a result${stderr === "" ? "" : `: ${stderr.trim()}`}`));
    });
  });
  return { child, result };
}
