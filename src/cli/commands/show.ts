import { Command } from "commander";
import type { StoredHistoryEntry } from "../../domain/history.js";
import { SagaNotFoundError } from "../../errors.js";
import { colourStatus, compactJson, duration, errorChain, palette, printJson, type Palette } from "../format.js";
import { withDatabaseOptions } from "../options.js";
import { resolveDatabase, withExistingStore, type DatabaseFlags } from "../store.js";
import { toShowView, type PhaseView, type ShowView } from "../views.js";

interface ShowOptions extends DatabaseFlags {
  json?: boolean;
}

/** `sagaflow show ID`: one saga with its steps, attempts and full history. */
export function showCommand(): Command {
  const command = withDatabaseOptions(new Command("show"), "the database to read (never created)")
    .description("show one saga: its steps, every attempt, errors with their causes, compensations and history")
    .argument("<id>", "the saga id (see `sagaflow list`)")
    .option("--json", "print one JSON object (shape in docs/cli.md)")
    .action(async (id: string, options: ShowOptions) => {
      const { view, history } = await withExistingStore(resolveDatabase(options), async (store) => {
        const record = await store.getInstance(id);
        if (record === null) throw new SagaNotFoundError(id);
        const entries = await store.getHistory(id);
        return { view: toShowView(record.state, entries), history: entries };
      });
      if (options.json === true) printJson(view);
      else process.stdout.write(`${render(view, history, palette()).join("\n")}\n`);
    });
  return command;
}

function render(view: ShowView, history: readonly StoredHistoryEntry[], c: Palette): string[] {
  const lines = [`${c.bold(`saga ${view.id}`)}  ${view.definition}@${view.version}  ${colourStatus(c, view.status)}`];
  const field = (name: string, value: string): void => {
    lines.push(`  ${name.padEnd(16)}${value}`);
  };
  field("idempotency key", view.idempotencyKey ?? "-");
  field("input", compactJson(view.input));
  field("started", view.startedAt);
  field("ended", view.endedAt === null ? "-" : `${view.endedAt} (${duration(Date.parse(view.endedAt) - Date.parse(view.startedAt))})`);
  if (view.currentStep !== null) field("current step", view.currentStep);
  if (view.recoveries > 0) field("recoveries", String(view.recoveries));
  if (view.cancel !== null) field("cancelled", `by ${view.cancel.by} at ${view.cancel.at}: ${view.cancel.reason}`);
  if (view.stop !== null) {
    field("stopped", `${view.stop.reason}${view.stop.step === null ? "" : ` at ${view.stop.step}`} (${view.stop.at})`);
    if (view.stop.error !== null) lines.push(...errorChain(view.stop.error, " ".repeat(18)));
  }
  if (view.outstanding.length > 0) {
    field("outstanding", c.red(view.outstanding.map((o) => `${o.step} ${o.phase}`).join(", ")));
  }
  lines.push("", c.bold("steps"));
  for (const step of view.steps) {
    lines.push(`  ${c.bold(step.name)}`);
    lines.push(...renderPhase("action", step.action, c));
    if (step.output !== null) lines.push(`      output ${compactJson(step.output)}`);
    // A compensation that never ran and is not due (a completed saga's, say) is noise.
    if (step.compensation.status !== "pending" || step.compensation.attempts.length > 0) lines.push(...renderPhase("compensation", step.compensation, c));
  }
  lines.push("", c.bold("history"));
  for (const entry of history) lines.push(`  ${String(entry.seq).padStart(3)}  ${new Date(entry.atMs).toISOString()}  ${describeEntry(entry)}`);
  return lines;
}

function renderPhase(name: string, phase: PhaseView, c: Palette): string[] {
  const lines = [`    ${name.padEnd(13)}${phase.status}${phase.attempts.length > 0 ? ` (${phase.attempts.length} attempt${phase.attempts.length === 1 ? "" : "s"})` : ""}`];
  for (const attempt of phase.attempts) {
    const took = attempt.endedAt === null ? "" : ` in ${duration(Date.parse(attempt.endedAt) - Date.parse(attempt.startedAt))}`;
    const outcome = attempt.outcome === "failed" ? c.red(attempt.outcome) : attempt.outcome === "in_doubt" ? c.yellow("in doubt") : attempt.outcome;
    lines.push(`      #${attempt.attempt} ${outcome}${attempt.timedOut === true ? " (timed out)" : ""}${took}  started ${attempt.startedAt}`);
    if (attempt.error !== undefined) lines.push(...errorChain(attempt.error, "         "));
  }
  return lines;
}

/** One history entry in words; the JSON keeps every field. */
function describeEntry(entry: StoredHistoryEntry): string {
  switch (entry.type) {
    case "saga_started":
      return `saga started${entry.idempotencyKey === null ? "" : ` (key ${entry.idempotencyKey})`}`;
    case "attempt_started":
      return `${entry.step} ${entry.phase} attempt ${entry.attempt} started`;
    case "attempt_succeeded":
      return `${entry.step} ${entry.phase} attempt ${entry.attempt} succeeded${entry.by === undefined ? "" : ` (answered by ${entry.by})`}`;
    case "attempt_failed":
      return `${entry.step} ${entry.phase} attempt ${entry.attempt} failed: ${entry.error.message}${entry.timedOut ? " (timed out)" : ""}${
        entry.nextAttemptAtMs === undefined ? "" : "; will retry"
      }`;
    case "phase_gave_up":
      return `${entry.step} ${entry.phase} gave up after ${entry.attempts} attempt${entry.attempts === 1 ? "" : "s"}: ${entry.error.message}`;
    case "attempt_in_doubt":
      return `${entry.step} ${entry.phase} attempt ${entry.attempt} in doubt (its worker stopped); recovery ${entry.recoveries}`;
    case "cancel_requested":
      return `cancel requested by ${entry.by}: ${entry.reason}`;
    case "retry_requested":
      return `retry requested by ${entry.by}: ${entry.reason} (${entry.outstanding.map((o) => `${o.step} ${o.phase}`).join(", ")})`;
    case "sleep_started":
      return `${entry.step} sleeps until ${new Date(entry.untilMs).toISOString()}`;
    case "compensation_skipped":
      return `${entry.step} compensation skipped by ${entry.by}: ${entry.reason}`;
    case "migrated":
      return `moved from version ${entry.fromVersion} to ${entry.toVersion} by ${entry.by}: ${entry.reason}`;
    case "abort_requested":
      return `aborted by ${entry.by}: ${entry.reason} (nothing more runs; nothing is compensated)`;
    case "deadline_passed":
      return `deadline ${new Date(entry.deadlineAtMs).toISOString()} passed: rolling back`;
    case "resolved":
      return `marked resolved by ${entry.by}: ${entry.reason}`;
    case "signal_received":
      return `event ${entry.name} received from ${entry.by} (delivery ${entry.id})`;
    case "compensation_started":
      return `compensation started (${entry.reason}${entry.step === undefined ? "" : ` at ${entry.step}`}): ${entry.order.join(" → ") || "nothing to undo"}`;
    case "saga_ended":
      return `saga ended ${entry.status}${entry.reason === undefined ? "" : ` (${entry.reason})`}`;
    case "write_rejected":
      return `late write from ${entry.workerId ?? "?"} at epoch ${entry.epoch ?? "?"} rejected (now epoch ${entry.currentEpoch}): ${
        entry.rejected.map((r) => [r.step, r.phase, r.type, r.attempt === undefined ? undefined : `#${r.attempt}`].filter(Boolean).join(" ")).join(", ") || "no entries"
      }`;
  }
}
