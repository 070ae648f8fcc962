import { parseArgs } from "node:util";
import { InvalidArgumentError } from "../../errors.js";
import { isParticipantServiceName, ParticipantServiceName } from "./service-name.js";
import type { StartParticipantServiceOptions } from "./start-participant-service.js";

/** How main.ts is called. */
export const SERVICE_USAGE = `usage: node --import tsx src/examples/services/main.ts <${Object.values(ParticipantServiceName).join("|")}> --db FILE [--port P] [--step-delay-ms D]`;

/**
 * Reads main.ts's arguments: the service, `--db FILE` (required), `--port P` (default 0: any free
 * port) and `--step-delay-ms D` (default 0). Throws InvalidArgumentError naming the argument.
 */
export function parseServiceArgs(argv: readonly string[]): StartParticipantServiceOptions {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (error) {
    throw new InvalidArgumentError("arguments", error instanceof Error ? `are wrong: ${error.message}` : "are wrong");
  }
  const { values, positionals } = parsed;
  const [service, ...extra] = positionals;
  if (!isParticipantServiceName(service)) throw new InvalidArgumentError("service", `must be one of ${Object.values(ParticipantServiceName).join(", ")}, got ${JSON.stringify(service ?? "")}`);
  if (extra.length > 0) throw new InvalidArgumentError("arguments", `take one service, got also ${extra.join(" ")}`);
  if (values.db === undefined || values.db === "") throw new InvalidArgumentError("--db", "is required: the service's SQLite file (created when missing)");
  return {
    service,
    dbPath: values.db,
    port: wholeNumber(values.port, "--port", 65_535),
    stepDelayMs: wholeNumber(values["step-delay-ms"], "--step-delay-ms", 600_000),
  };
}

function parseOptions(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    options: { db: { type: "string" }, port: { type: "string" }, "step-delay-ms": { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
}

function wholeNumber(text: string | undefined, flag: string, max: number): number {
  if (text === undefined) return 0;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value > max) throw new InvalidArgumentError(flag, `must be a whole number from 0 to ${max}, got ${JSON.stringify(text)}`);
  return value;
}
