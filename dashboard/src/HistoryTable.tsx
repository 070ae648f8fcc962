import type { StoredHistoryEntry } from "./api";
import { formatDuration, formatPreciseTime, plural } from "./format";

/** Every transition as stored, oldest first, with who wrote it. */
export function HistoryTable({ history, originMs }: { history: readonly StoredHistoryEntry[]; originMs: number }) {
  return (
    <div className="table-wrap">
      <table className="history" data-testid="history">
        <caption className="visually-hidden">History of the saga, oldest first</caption>
        <thead>
          <tr>
            <th scope="col">Seq</th>
            <th scope="col">Time</th>
            <th scope="col">Type</th>
            <th scope="col">Step</th>
            <th scope="col">Phase</th>
            <th scope="col">Attempt</th>
            <th scope="col">Worker</th>
            <th scope="col">Epoch</th>
            <th scope="col">Summary</th>
          </tr>
        </thead>
        <tbody>
          {history.map((entry) => (
            <tr key={entry.seq} data-seq={entry.seq} className={`history-${entry.type}`}>
              <td className="num">{entry.seq}</td>
              <td className="nowrap">
                {formatPreciseTime(entry.atMs)} <span className="muted">+{formatDuration(entry.atMs - originMs)}</span>
              </td>
              <td className="mono">{entry.type}</td>
              <td>{"step" in entry ? entry.step : ""}</td>
              <td>{"phase" in entry ? entry.phase : ""}</td>
              <td className="num">{"attempt" in entry ? entry.attempt : ""}</td>
              <td className="mono small">{entry.workerId ?? ""}</td>
              <td className="num">{entry.epoch ?? ""}</td>
              <td className="summary">{summarize(entry, originMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function summarize(entry: StoredHistoryEntry, originMs: number): string {
  switch (entry.type) {
    case "saga_started":
      return entry.idempotencyKey === null ? "started" : `started with idempotency key ${entry.idempotencyKey}`;
    case "attempt_started":
      return "";
    case "attempt_succeeded":
      return [entry.output === undefined ? "succeeded" : `output ${brief(entry.output)}`, entry.by === undefined ? "" : `answered by ${entry.by}`].filter(Boolean).join("; ");
    case "attempt_failed":
      return [
        `${entry.error.name}: ${entry.error.message}`,
        entry.timedOut ? "timed out" : "",
        entry.nextAttemptAtMs === undefined ? "no retry" : `retry at +${formatDuration(entry.nextAttemptAtMs - originMs)}`,
        entry.by === undefined ? "" : `by ${entry.by}`,
      ]
        .filter(Boolean)
        .join("; ");
    case "phase_gave_up":
      return `gave up after ${plural(entry.attempts, "attempt")}: ${entry.error.message}`;
    case "attempt_in_doubt":
      return `outcome unknown (worker gone); recoveries ${entry.recoveries}`;
    case "cancel_requested":
      return `by ${entry.by}: ${entry.reason}`;
    case "retry_requested":
      return `by ${entry.by}: ${entry.reason}; outstanding ${entry.outstanding.map((o) => `${o.step} ${o.phase}`).join(", ")}`;
    case "sleep_started":
      return `sleeps until ${new Date(entry.untilMs).toLocaleString()}`;
    case "deadline_passed":
      return `deadline ${new Date(entry.deadlineAtMs).toLocaleString()} passed: rolling back`;
    case "migrated":
      return `moved from version ${entry.fromVersion} to ${entry.toVersion} by ${entry.by}: ${entry.reason}`;
    case "abort_requested":
      return `aborted by ${entry.by}: ${entry.reason} (stops without compensating)`;
    case "compensation_skipped":
      return `skipped by ${entry.by}: ${entry.reason}`;
    case "resolved":
      return `marked resolved by ${entry.by}: ${entry.reason}`;
    case "signal_received":
      return `event ${entry.name} from ${entry.by}${entry.id === entry.name ? "" : ` (delivery ${entry.id})`}`;
    case "compensation_started":
      return `${entry.reason.replaceAll("_", " ")}${entry.step === undefined ? "" : ` at ${entry.step}`}; undo ${entry.order.join(" → ") || "nothing"}`;
    case "saga_ended":
      return [entry.status, entry.reason?.replaceAll("_", " ") ?? "", entry.outstanding?.length ? `outstanding ${entry.outstanding.map((o) => `${o.step} ${o.phase}`).join(", ")}` : ""]
        .filter(Boolean)
        .join("; ");
    case "write_rejected":
      return `fenced write rejected (current epoch ${entry.currentEpoch}): ${entry.rejected.map((r) => r.type).join(", ")}`;
    default:
      return "";
  }
}

function brief(value: unknown): string {
  const text = JSON.stringify(value) ?? "null";
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
