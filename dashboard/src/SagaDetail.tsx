import { useRef, useState } from "react";
import { ApiError, cancelSaga, errorMessage, getHistory, getSaga, listDefinitions, retrySaga, type SagaState, type SagaStatus, type StoredHistoryEntry } from "./api";
import { ConfirmDialog } from "./ConfirmDialog";
import { DetailsPanel } from "./DetailsPanel";
import { ErrorChain } from "./ErrorChain";
import { ErrorNotice } from "./ErrorNotice";
import { formatDuration, formatTime } from "./format";
import { HistoryTable } from "./HistoryTable";
import { JsonBlock } from "./JsonBlock";
import { describeStopReason, sagaDurationMs } from "./saga-model";
import { StatusBadge } from "./StatusBadge";
import { Timeline } from "./Timeline";
import { buildTimeline } from "./timeline-model";
import { usePolling } from "./usePolling";

/** Live while the saga moves; a failed one is looked at now and then (someone may retry it elsewhere); an ended one not at all. */
function paceFor(status: SagaStatus): number | null {
  if (status === "running" || status === "compensating") return 1_000;
  if (status === "failed") return 5_000;
  return null;
}

type Action = "cancel" | "retry";

export function SagaDetail({ id }: { id: string }) {
  const polled = usePolling(
    async (signal) => {
      const [saga, history] = await Promise.all([getSaga(id, signal), getHistory(id, signal)]);
      return { saga, history };
    },
    ({ saga }) => paceFor(saga.status),
    [id],
  );

  if (polled.data === undefined) {
    if (polled.error instanceof ApiError && polled.error.status === 404) {
      return (
        <>
          <h1>Saga not found</h1>
          <p role="alert">{polled.error.detail}</p>
          <p>
            <a href="#/sagas">Back to the list</a>
          </p>
        </>
      );
    }
    return (
      <>
        <h1 className="mono">{id}</h1>
        {polled.error !== undefined ? <ErrorNotice error={polled.error} what="The saga" /> : <p className="muted">Loading…</p>}
      </>
    );
  }
  return <SagaView saga={polled.data.saga} history={polled.data.history} refresh={polled.refresh} staleError={polled.error} />;
}

interface SagaViewProps {
  saga: SagaState;
  history: StoredHistoryEntry[];
  refresh: () => void;
  staleError: unknown;
}

function SagaView({ saga, history, refresh, staleError }: SagaViewProps) {
  const definitions = usePolling((signal) => listDefinitions(signal), null, []);
  const [selected, setSelected] = useState<string | null>(null);
  const [action, setAction] = useState<Action | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const triggers = useRef<Partial<Record<Action, HTMLButtonElement | null>>>({});

  const nowMs = Date.now();
  const model = buildTimeline(saga, history, nowMs);
  const plan = definitions.data?.find((d) => d.name === saga.definitionName && d.version === saga.definitionVersion);
  const pivots = new Set(plan?.steps.filter((s) => s.pivot).map((s) => s.name) ?? []);
  const waits = new Set(plan?.steps.filter((s) => s.wait === true).map((s) => s.name) ?? []);
  const segment = model.segments.find((s) => s.key === selected);

  const closeDialog = (which: Action) => {
    setAction(null);
    // Back to the button that opened the dialog, if the saga's new status still shows it.
    window.setTimeout(() => triggers.current[which]?.focus(), 0);
  };

  const confirm = async (which: Action, reason: string) => {
    setBusy(true);
    const body = { by: "dashboard", ...(reason === "" ? {} : { reason }) };
    try {
      const now = which === "cancel" ? await cancelSaga(saga.id, body) : await retrySaga(saga.id, body);
      setResult({
        ok: true,
        text:
          which === "cancel"
            ? `Cancel requested (saga ${now.status}). A running step settles first, then completed steps are compensated, newest first.`
            : `Retry requested (saga ${now.status}). The outstanding phases run again with a fresh retry budget.`,
      });
    } catch (error) {
      setResult({ ok: false, text: errorMessage(error) });
    } finally {
      setBusy(false);
      closeDialog(which);
      refresh();
    }
  };

  return (
    <>
      <header className="saga-header">
        <div className="saga-title">
          <h1>
            <span className="muted small-caps">Saga </span>
            <span className="mono" data-testid="saga-id">
              {saga.id}
            </span>
          </h1>
          <StatusBadge status={saga.status} testId="saga-status" />
        </div>
        <div className="actions">
          {saga.status === "running" && (
            <button type="button" className="danger" ref={(el) => void (triggers.current.cancel = el)} onClick={() => setAction("cancel")}>
              Cancel saga
            </button>
          )}
          {saga.status === "failed" && (
            <button type="button" className="primary" ref={(el) => void (triggers.current.retry = el)} onClick={() => setAction("retry")}>
              Retry compensations
            </button>
          )}
        </div>
      </header>

      {result !== null && (
        <p className={`notice ${result.ok ? "notice-ok" : "notice-error"}`} role={result.ok ? "status" : "alert"} data-testid="action-result">
          {result.text}
        </p>
      )}
      {staleError !== undefined && <ErrorNotice error={staleError} what="The latest state" />}

      <dl className="facts saga-facts">
        <dt>Definition</dt>
        <dd data-testid="saga-definition">
          <a href="#/definitions">
            {saga.definitionName}@{saga.definitionVersion}
          </a>
        </dd>
        <dt>Idempotency key</dt>
        <dd className="mono" data-testid="saga-idempotency-key">
          {saga.idempotencyKey ?? "—"}
        </dd>
        <dt>Started</dt>
        <dd data-testid="saga-started">{formatTime(saga.createdAtMs)}</dd>
        <dt>Ended</dt>
        <dd data-testid="saga-ended">{saga.endedAtMs === undefined ? "not yet" : formatTime(saga.endedAtMs)}</dd>
        <dt>Duration</dt>
        <dd>
          {formatDuration(sagaDurationMs(saga, nowMs))}
          {saga.endedAtMs === undefined && " so far"}
        </dd>
        {saga.recoveries > 0 && (
          <>
            <dt>Recoveries</dt>
            <dd>{saga.recoveries}</dd>
          </>
        )}
        {saga.cancel !== undefined && (
          <>
            <dt>Cancel</dt>
            <dd data-testid="saga-cancel">
              by {saga.cancel.by} at {formatTime(saga.cancel.atMs)}: {saga.cancel.reason}
            </dd>
          </>
        )}
      </dl>

      {saga.stop !== undefined && (
        <section className="stop" data-testid="stop" aria-labelledby="stop-heading">
          <h2 id="stop-heading">Why it stopped going forward</h2>
          <p>
            <strong data-testid="stop-reason">{describeStopReason(saga.stop.reason)}</strong> <span className="muted mono">({saga.stop.reason})</span>
            {saga.stop.step !== undefined && (
              <>
                {" "}
                at step <strong data-testid="stop-step">{saga.stop.step}</strong>
              </>
            )}
            , {formatTime(saga.stop.atMs)} (+{formatDuration(saga.stop.atMs - saga.createdAtMs)})
          </p>
          {saga.stop.error !== undefined && <ErrorChain error={saga.stop.error} />}
        </section>
      )}

      {saga.outstanding !== undefined && saga.outstanding.length > 0 && (
        <section className="outstanding notice notice-error" aria-labelledby="outstanding-heading">
          <h2 id="outstanding-heading">Outstanding</h2>
          <p>An operator has to see to these, then retry:</p>
          <ul data-testid="outstanding">
            {saga.outstanding.map((o) => (
              <li key={`${o.step}-${o.phase}`}>
                {o.step} ({o.phase})
              </li>
            ))}
          </ul>
        </section>
      )}

      <Timeline saga={saga} model={model} pivots={pivots} waits={waits} selected={selected} onSelect={setSelected} nowMs={nowMs} />
      {segment === undefined ? (
        <p className="muted hint">Select an attempt in the timeline (click it, or Tab to it and press Enter) to see its times, output or error.</p>
      ) : (
        <DetailsPanel segment={segment} originMs={saga.createdAtMs} nowMs={nowMs} onClose={() => setSelected(null)} />
      )}

      <section aria-labelledby="data-heading" className="data">
        <h2 id="data-heading">Input and outputs</h2>
        <details data-testid="saga-input">
          <summary>Input</summary>
          <JsonBlock value={saga.input} />
        </details>
        {saga.steps.map((step) => (
          <details key={step.name} data-testid={`step-output-${step.name}`}>
            <summary>
              Output of {step.name}
              {step.output === undefined && <span className="muted"> (none)</span>}
            </summary>
            <JsonBlock value={step.output} />
          </details>
        ))}
      </section>

      <section aria-labelledby="history-heading">
        <h2 id="history-heading">History</h2>
        <HistoryTable history={history} originMs={saga.createdAtMs} />
      </section>

      {action !== null && (
        <ConfirmDialog
          title={action === "cancel" ? "Cancel this saga?" : "Retry this saga's compensations?"}
          defaultReason={action === "cancel" ? "cancelled from the dashboard" : "retried from the dashboard"}
          busy={busy}
          onConfirm={(reason) => void confirm(action, reason)}
          onClose={() => closeDialog(action)}
        >
          {action === "cancel" ? (
            <p>
              The saga stops going forward: the step running now settles, then every completed step is compensated, newest first. This is refused once the saga
              passed its pivot step.
            </p>
          ) : (
            <p>Its outstanding phases ({(saga.outstanding ?? []).map((o) => `${o.step} ${o.phase}`).join(", ") || "none"}) run again with a fresh retry budget.</p>
          )}
        </ConfirmDialog>
      )}
    </>
  );
}
