import { getStats, listSagas, SAGA_STATUSES, type SagaState, type Stats } from "./api";
import { ActivityChart, type Series } from "./ActivityChart";
import { ErrorNotice } from "./ErrorNotice";
import { formatDuration, formatTime, plural } from "./format";
import { sagaHref } from "./router";
import { currentStepLabel, describeStopReason, sagaDurationMs } from "./saga-model";
import { StatusBadge } from "./StatusBadge";
import { usePolling } from "./usePolling";

const WINDOW_MS = 60 * 60 * 1000;
const BUCKET_MS = 60 * 1000;
const REFRESH_MS = 5_000;
const ATTENTION_LIMIT = 20;

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
  // Failed sagas wait for an operator; compensating ones are rolling back right now.
  const attention = usePolling(
    async (signal) => {
      const [failed, compensating] = await Promise.all([
        listSagas({ statuses: ["failed"], limit: ATTENTION_LIMIT }, signal),
        listSagas({ statuses: ["compensating"], limit: ATTENTION_LIMIT }, signal),
      ]);
      return { failed: failed.items, compensating: compensating.items, moreFailed: failed.nextCursor !== null };
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

function AttentionList({ failed, compensating, moreFailed }: { failed: SagaState[]; compensating: SagaState[]; moreFailed: boolean }) {
  const now = Date.now();
  if (failed.length === 0 && compensating.length === 0) return <p className="muted">Nothing needs attention: no saga is failed or compensating.</p>;
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
      {moreFailed && (
        <p>
          <a href="#/sagas?status=failed">All failed sagas</a>
        </p>
      )}
    </>
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
