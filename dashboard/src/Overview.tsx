import { getStats, listSagas, SAGA_STATUSES, type SagaState, type Stats } from "./api";
import { ActivityChart, type Series } from "./ActivityChart";
import { ErrorNotice } from "./ErrorNotice";
import { formatDuration, formatTime, plural } from "./format";
import { sagaHref } from "./router";
import { currentStepLabel, describeStopReason, sagaDurationMs } from "./saga-model";
import { ResolvedTag, StatusBadge } from "./StatusBadge";
import { usePolling } from "./usePolling";

const WINDOW_MS = 60 * 60 * 1000;
const BUCKET_MS = 60 * 1000;
const REFRESH_MS = 5_000;
const ATTENTION_LIMIT = 20;
// The server lists by status only, not by resolution: failed sagas are read a page at a time until
// enough unresolved ones are found, within a bound so a store full of resolved ones stays cheap.
const FAILED_PAGE_SIZE = 50;
const FAILED_PAGES = 4;

const THROUGHPUT: readonly Series[] = [
  { key: "started", label: "started", className: "series-started" },
  { key: "completed", label: "completed", className: "series-completed" },
];
const FAILURES: readonly Series[] = [
  { key: "compensated", label: "compensated", className: "series-compensated" },
  { key: "failed", label: "failed", className: "series-failed" },
];

export function Overview() {
  const stats = usePolling((signal) => getStats(WINDOW_MS, BUCKET_MS, signal), REFRESH_MS, []);
  // Failed sagas wait for an operator (unless one marked them resolved); compensating ones are rolling back right now.
  const attention = usePolling(
    async (signal) => {
      const [failed, compensating] = await Promise.all([failedSagas(signal), listSagas({ statuses: ["compensating"], limit: ATTENTION_LIMIT }, signal)]);
      return { ...failed, compensating: compensating.items };
    },
    REFRESH_MS,
    [],
  );

  return (
    <>
      <h1>Overview</h1>
      <section aria-labelledby="counts-heading">
        <h2 id="counts-heading" className="visually-hidden">
          Sagas by status
        </h2>
        {stats.error !== undefined && <ErrorNotice error={stats.error} what="Statistics" />}
        <Counts stats={stats.data} />
      </section>
      <section aria-labelledby="activity-heading" className="activity">
        <h2 id="activity-heading">Last hour</h2>
        {stats.data === undefined ? (
          <p className="muted">{stats.loading ? "Loading activity…" : "No activity data."}</p>
        ) : (
          <Charts stats={stats.data} />
        )}
      </section>
      {stats.data !== undefined && stats.data.versions.length > 0 && <VersionsInUse versions={stats.data.versions} />}
      <section aria-labelledby="attention-heading">
        <h2 id="attention-heading">Needs attention</h2>
        {attention.error !== undefined && <ErrorNotice error={attention.error} what="The list" />}
        {attention.data === undefined ? (
          attention.loading && <p className="muted">Loading…</p>
        ) : (
          <AttentionList {...attention.data} />
        )}
      </section>
    </>
  );
}

function Counts({ stats }: { stats: Stats | undefined }) {
  return (
    <ul className="counts">
      {SAGA_STATUSES.map((status) => (
        <li key={status} className={`count-card count-${status}`}>
          <a href={`#/sagas?status=${status}`} className="count-link">
            <span className="count-value" data-testid={`count-${status}`}>
              {stats === undefined ? "–" : String(stats.counts[status] ?? 0)}
            </span>
            <span className="count-label">{status}</span>
          </a>
        </li>
      ))}
    </ul>
  );
}

function Charts({ stats }: { stats: Stats }) {
  const { buckets, bucketMs } = stats.activity;
  const sum = (key: keyof Stats["activity"]["buckets"][number]) => buckets.reduce((total, b) => total + b[key], 0);
  const started = sum("started");
  const completed = sum("completed");
  const compensated = sum("compensated");
  const failed = sum("failed");
  const ended = completed + compensated + failed;
  const share = ended === 0 ? "no saga ended" : `${Math.round(((compensated + failed) / ended) * 100)}% of the ${plural(ended, "saga")} that ended`;
  return (
    <div className="charts">
      <ActivityChart
        testId="chart-throughput"
        title="Throughput"
        summary={`In the last hour ${started} started and ${completed} completed.`}
        buckets={buckets}
        bucketMs={bucketMs}
        series={THROUGHPUT}
        kind="grouped"
      />
      <ActivityChart
        testId="chart-failures"
        title="Compensations and failures"
        summary={`In the last hour ${compensated} compensated and ${failed} failed: ${share}.`}
        buckets={buckets}
        bucketMs={bucketMs}
        series={FAILURES}
        kind="stacked"
      />
      <p className="chart-note">
        Rolled back or failed: <strong>{share}</strong>.
      </p>
    </div>
  );
}

interface FailedSagas {
  /** Not resolved, newest first, at most ATTENTION_LIMIT. */
  failed: SagaState[];
  /** Marked resolved: failed still, but nobody needs to act (those met while looking for the others). */
  resolved: SagaState[];
  /** More unresolved ones than listed, or some not looked at. */
  moreFailed: boolean;
}

async function failedSagas(signal: AbortSignal): Promise<FailedSagas> {
  const open: SagaState[] = [];
  const resolved: SagaState[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < FAILED_PAGES; page++) {
    const result = await listSagas({ statuses: ["failed"], limit: FAILED_PAGE_SIZE, cursor }, signal);
    for (const saga of result.items) (saga.resolution === undefined ? open : resolved).push(saga);
    cursor = result.nextCursor;
    if (cursor === null || open.length > ATTENTION_LIMIT) break;
  }
  return { failed: open.slice(0, ATTENTION_LIMIT), resolved, moreFailed: open.length > ATTENTION_LIMIT || cursor !== null };
}

function AttentionList({ failed, resolved, compensating, moreFailed }: FailedSagas & { compensating: SagaState[] }) {
  const now = Date.now();
  if (failed.length === 0 && compensating.length === 0) {
    return (
      <>
        <p className="muted">
          {resolved.length === 0
            ? "Nothing needs attention: no saga is failed or compensating."
            : "Nothing needs attention: no saga is compensating, and every failed one was marked resolved."}
        </p>
        <ResolvedNote resolved={resolved} more={moreFailed} />
      </>
    );
  }
  return (
    <>
      <ul className="attention" data-testid="attention">
        {[...failed, ...compensating].map((saga) => (
          <li key={saga.id} className="attention-item" data-testid="attention-item" data-saga-id={saga.id}>
            <StatusBadge status={saga.status} />
            <div className="attention-main">
              <div className="attention-line">
                <a href={sagaHref(saga.id)} className="mono">
                  {saga.id}
                </a>
                <span className="muted">
                  {saga.definitionName}@{saga.definitionVersion}
                </span>
                <span className="muted">
                  started {formatTime(saga.createdAtMs)}, {saga.endedAtMs === undefined ? "running for" : "took"} {formatDuration(sagaDurationMs(saga, now))}
                </span>
              </div>
              <p className="attention-reason">{reasonOf(saga)}</p>
            </div>
          </li>
        ))}
      </ul>
      <ResolvedNote resolved={resolved} more={moreFailed} />
      {moreFailed && (
        <p>
          <a href="#/sagas?status=failed">All failed sagas</a>
        </p>
      )}
    </>
  );
}

/** Resolved failed sagas, out of the way: collapsed, for whoever wants to see what was settled by hand. */
function ResolvedNote({ resolved, more }: { resolved: SagaState[]; more: boolean }) {
  if (resolved.length === 0) return null;
  const shown = resolved.slice(0, ATTENTION_LIMIT);
  return (
    <details className="attention-resolved" data-testid="attention-resolved">
      <summary>
        Resolved: {more ? "at least " : ""}
        {plural(resolved.length, "failed saga")} marked resolved by an operator, not listed above
      </summary>
      <ul>
        {shown.map((saga) => (
          <li key={saga.id} data-saga-id={saga.id}>
            <a href={sagaHref(saga.id)} className="mono">
              {saga.id}
            </a>{" "}
            <span className="muted">
              {saga.definitionName}@{saga.definitionVersion}
            </span>{" "}
            {saga.resolution !== undefined && (
              <>
                <ResolvedTag resolution={saga.resolution} />{" "}
                <span className="small">
                  by {saga.resolution.by} at {formatTime(saga.resolution.atMs)}: {saga.resolution.reason}
                </span>
              </>
            )}
          </li>
        ))}
      </ul>
      {resolved.length > shown.length && <p className="muted small">and {plural(resolved.length - shown.length, "more")}.</p>}
    </details>
  );
}

/** Why it needs someone: what stopped it and, for a failed one, what is still outstanding. */
function reasonOf(saga: SagaState): string {
  if (saga.stop === undefined) return `at ${currentStepLabel(saga)}`;
  const where = saga.stop.step === undefined ? "" : ` at ${saga.stop.step}`;
  const error = saga.stop.error === undefined ? "" : `: ${saga.stop.error.message}`;
  const outstanding = saga.outstanding?.length ? ` Outstanding: ${saga.outstanding.map((o) => `${o.step} ${o.phase}`).join(", ")}.` : "";
  return `${describeStopReason(saga.stop.reason)}${where}${error}.${outstanding}`;
}

/**
 * Unfinished sagas by definition version. A version this server does not run may have no worker
 * anywhere: its sagas then wait (they are never run with another version's code).
 */
function VersionsInUse({ versions }: { versions: Stats["versions"] }) {
  return (
    <section aria-labelledby="versions-heading" data-testid="versions">
      <h2 id="versions-heading">Unfinished sagas by version</h2>
      <table className="versions-table">
        <thead>
          <tr>
            <th scope="col">Definition</th>
            <th scope="col">Unfinished</th>
            <th scope="col">Run by this server</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((entry) => (
            <tr key={`${entry.definition}@${entry.version}`} data-testid={`version-${entry.definition}@${entry.version}`}>
              <td className="mono">
                {entry.definition}@{entry.version}
              </td>
              <td>{entry.unfinished}</td>
              <td>{entry.runsHere ? "yes" : <strong>no: these sagas wait for a worker that runs this version</strong>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
