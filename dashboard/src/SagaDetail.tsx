import { useCallback, useEffect, useRef, useState } from "react";
import {
  ApiError,
  cancelSaga,
  DASHBOARD_ACTOR,
  errorMessage,
  getHistory,
  getSaga,
  listDefinitions,
  resolveSaga,
  retrySaga,
  skipCompensation,
  type SagaState,
  type SagaStatus,
  type StepGroup,
  type StoredHistoryEntry,
} from "./api";
import { ConfirmDialog } from "./ConfirmDialog";
import { DetailsPanel } from "./DetailsPanel";
import { ErrorChain } from "./ErrorChain";
import { ErrorNotice } from "./ErrorNotice";
import { formatDuration, formatRelative, formatTime } from "./format";
import { HistoryTable } from "./HistoryTable";
import { JsonBlock } from "./JsonBlock";
import { describeStopReason, sagaDurationMs } from "./saga-model";
import { ResolvedTag, StatusBadge } from "./StatusBadge";
import { Timeline } from "./Timeline";
import { buildTimeline } from "./timeline-model";
import { usePolling } from "./usePolling";

/** How long after an operator's action a `failed` saga is polled every second: a worker applies the action moments later. */
const AFTER_ACTION_MS = 15_000;

/**
 * Live while the saga moves, and just after an operator acted on it (the 202 answers before a
 * worker applied the action); a failed one is otherwise looked at now and then (someone may act on
 * it elsewhere); an ended one not at all.
 */
function paceFor(status: SagaStatus, justActed: boolean): number | null {
  if (status === "running" || status === "compensating") return 1_000;
  if (status === "failed") return justActed ? 1_000 : 5_000;
  return null;
}

/** What the confirmation dialog is asking about. */
type Action = { kind: "cancel" } | { kind: "retry" } | { kind: "skip"; step: string } | { kind: "resolve" };

/** Names the button that opened a dialog, to hand focus back to it. */
function triggerKey(action: Action): string {
  return action.kind === "skip" ? `skip:${action.step}` : action.kind;
}

export function SagaDetail({ id }: { id: string }) {
  // Read when the pace is chosen, after each answer: a ref, so setting it does not re-render.
  const actedAtMs = useRef(Number.NEGATIVE_INFINITY);
  const polled = usePolling(
    async (signal) => {
      const [saga, history] = await Promise.all([getSaga(id, signal), getHistory(id, signal)]);
      return { saga, history };
    },
    ({ saga }) => paceFor(saga.status, Date.now() - actedAtMs.current < AFTER_ACTION_MS),
    [id],
  );
  const { refresh } = polled;
  const afterAction = useCallback(() => {
    actedAtMs.current = Date.now();
    refresh();
  }, [refresh]);

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
  return <SagaView saga={polled.data.saga} history={polled.data.history} afterAction={afterAction} staleError={polled.error} />;
}

interface SagaViewProps {
  saga: SagaState;
  history: StoredHistoryEntry[];
  /** Poll now, and briefly every second, so the action's effect shows as it happens. */
  afterAction: () => void;
  staleError: unknown;
}

function SagaView({ saga, history, afterAction, staleError }: SagaViewProps) {
  const definitions = usePolling((signal) => listDefinitions(signal), null, []);
  const [selected, setSelected] = useState<string | null>(null);
  const [action, setAction] = useState<Action | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const resultRef = useRef<HTMLParagraphElement>(null);
  const triggers = useRef<Map<string, HTMLButtonElement>>(new Map());
  const triggerRefs = useRef<Map<string, (element: HTMLButtonElement | null) => void>>(new Map());
  /**
   * The ref callback of a button that opens a dialog, so focus can go back to it. One callback per
   * button for the page's life: React then calls it with null only when the button goes away.
   */
  const trigger = (key: string) => {
    let callback = triggerRefs.current.get(key);
    if (callback === undefined) {
      callback = (element) => {
        const gone = triggers.current.get(key);
        if (element !== null) {
          triggers.current.set(key, element);
          return;
        }
        triggers.current.delete(key);
        // The saga's new state took away the focused button (no "Mark resolved" once resolved, no
        // "Skip" once skipped): focus moves to the action's outcome rather than to the page's top.
        if (gone !== undefined && document.activeElement === gone) window.setTimeout(() => resultRef.current?.focus(), 0);
      };
      triggerRefs.current.set(key, callback);
    }
    return callback;
  };

  const nowMs = Date.now();
  const plan = definitions.data?.find((d) => d.name === saga.definitionName && d.version === saga.definitionVersion);
  const model = buildTimeline(saga, history, nowMs, plan?.steps);
  const pivots = new Set(plan?.steps.filter((s) => s.pivot).map((s) => s.name) ?? []);
  const groups = new Map<string, StepGroup>((plan?.steps ?? []).flatMap((s) => (s.group === undefined ? [] : [[s.name, s.group] as const])));
  const segment = model.segments.find((s) => s.key === selected);

  // Compensations an operator may skip: only those, not an action parked after the pivot (that one is retried).
  const skippable = saga.status === "failed" ? (saga.outstanding ?? []).filter((o) => o.phase === "compensation").map((o) => o.step) : [];
  const resolvable = saga.status === "failed" && saga.resolution === undefined;

  // Which button focus goes back to once the dialog is gone: only then, since a modal dialog that
  // is still open keeps focus from reaching anything outside it.
  const focusBack = useRef<string | null>(null);
  useEffect(() => {
    if (action !== null || focusBack.current === null) return;
    // The button that opened the dialog if the saga's new status still shows it, else the outcome.
    (triggers.current.get(focusBack.current) ?? resultRef.current)?.focus();
    focusBack.current = null;
  }, [action]);

  const closeDialog = (which: Action) => {
    focusBack.current = triggerKey(which);
    setAction(null);
  };

  const confirm = async (which: Action, reason: string) => {
    setBusy(true);
    const body = { by: DASHBOARD_ACTOR, ...(reason === "" ? {} : { reason }) };
    try {
      setResult({ ok: true, text: await perform(saga.id, which, reason, body) });
    } catch (error) {
      setResult({ ok: false, text: errorMessage(error) });
    } finally {
      setBusy(false);
      closeDialog(which);
      afterAction();
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
          {saga.status === "failed" && saga.resolution !== undefined && <ResolvedTag resolution={saga.resolution} />}
        </div>
        <div className="actions">
          {saga.status === "running" && (
            <button type="button" className="danger" ref={trigger("cancel")} onClick={() => setAction({ kind: "cancel" })}>
              Cancel saga
            </button>
          )}
          {saga.status === "failed" && (
            <button type="button" className="primary" ref={trigger("retry")} onClick={() => setAction({ kind: "retry" })}>
              Retry compensations
            </button>
          )}
          {resolvable && (
            <button type="button" ref={trigger("resolve")} onClick={() => setAction({ kind: "resolve" })}>
              Mark resolved
            </button>
          )}
        </div>
      </header>

      {saga.resolution !== undefined && (
        <p className="notice notice-resolved" data-testid="resolution">
          Resolved by <strong>{saga.resolution.by}</strong> at {formatTime(saga.resolution.atMs)}: {saga.resolution.reason}
        </p>
      )}

      {saga.abort !== undefined && (
        <p className="notice notice-error" data-testid="saga-abort">
          Aborted by <strong>{saga.abort.by}</strong>: {saga.abort.reason}{" "}
          <span className="small">
            ({formatTime(saga.abort.atMs)};{" "}
            {saga.endedAtMs === undefined ? "it stops without compensating once nothing runs" : "nothing was compensated: what would have been is outstanding"})
          </span>
        </p>
      )}

      {saga.deadlineAtMs !== undefined && <Deadline saga={saga} history={history} nowMs={nowMs} />}

      {result !== null && (
        <p ref={resultRef} tabIndex={-1} className={`notice ${result.ok ? "notice-ok" : "notice-error"}`} role={result.ok ? "status" : "alert"} data-testid="action-result">
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

      {saga.signals !== undefined && saga.signals.length > 0 && <Signals saga={saga} />}

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
        <section className={`outstanding notice ${saga.resolution === undefined ? "notice-error" : "notice-quiet"}`} aria-labelledby="outstanding-heading">
          <h2 id="outstanding-heading">Outstanding</h2>
          <p>
            {saga.resolution === undefined
              ? "An operator has to see to these, then retry them, skip a compensation that was done by hand, or mark the saga resolved:"
              : "Marked resolved: these were left as they are."}
          </p>
          <ul data-testid="outstanding">
            {saga.outstanding.map((o) => (
              <li key={`${o.step}-${o.phase}`}>
                {o.step} ({o.phase})
                {/* Next to what it settles: one button per outstanding compensation. */}
                {skippable.includes(o.step) && o.phase === "compensation" && (
                  <>
                    {" "}
                    <button type="button" className="inline-action" ref={trigger(`skip:${o.step}`)} onClick={() => setAction({ kind: "skip", step: o.step })}>
                      Skip compensation of {o.step}
                    </button>
                  </>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}

      <Timeline saga={saga} model={model} pivots={pivots} groups={groups} selected={selected} onSelect={setSelected} nowMs={nowMs} />
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
          // Keyed: another action's dialog starts with its own reason, not the last one typed.
          key={triggerKey(action)}
          title={dialogTitle(action)}
          defaultReason={defaultReason(action)}
          reasonRequired={action.kind === "skip" || action.kind === "resolve"}
          busy={busy}
          onConfirm={(reason) => void confirm(action, reason)}
          onClose={() => closeDialog(action)}
        >
          <DialogBody action={action} saga={saga} />
        </ConfirmDialog>
      )}
    </>
  );
}

/**
 * When the saga must be done going forward: how long is left while it runs, else whether it
 * passed (and so rolled the saga back) or the saga got past it in time.
 */
function Deadline({ saga, history, nowMs }: { saga: SagaState; history: readonly StoredHistoryEntry[]; nowMs: number }) {
  const at = saga.deadlineAtMs;
  if (at === undefined) return null;
  const passedEntry = history.some((entry) => entry.type === "deadline_passed");
  const ended = saga.endedAtMs;
  const passed = passedEntry || (at <= nowMs && (ended === undefined || ended >= at));
  let note: string;
  if (passedEntry) note = "passed: the saga rolled back as if cancelled";
  else if (ended !== undefined && ended < at) note = "not reached: the saga ended before it";
  else if (at <= nowMs) note = "passed";
  else if (saga.pivotPassed) note = `${formatRelative(at, nowMs)}; past its pivot, the saga no longer rolls back for it`;
  else note = saga.status === "running" ? formatRelative(at, nowMs) : `${formatRelative(at, nowMs)}; no longer going forward`;
  const live = saga.status === "running" && !passed;
  return (
    <p className={`saga-deadline${live ? " ahead" : passed ? " passed" : ""}`} data-testid="saga-deadline">
      <strong>Deadline</strong> {formatTime(at)} <span className={passed ? "deadline-passed" : "muted"}>({note})</span>
    </p>
  );
}

/** The named events the saga received, oldest first, and the step that took each. */
function Signals({ saga }: { saga: SagaState }) {
  const signals = saga.signals ?? [];
  return (
    <section className="signals" aria-labelledby="signals-heading">
      <h2 id="signals-heading">Events received</h2>
      <div className="table-wrap">
        <table data-testid="signals">
          <caption className="visually-hidden">Named events delivered to this saga, oldest first</caption>
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">From</th>
              <th scope="col">Received</th>
              <th scope="col">Taken by</th>
            </tr>
          </thead>
          <tbody>
            {signals.map((signal) => (
              <tr key={signal.id} data-event={signal.name}>
                <td className="mono">
                  {signal.name}
                  {signal.id !== signal.name && <span className="muted small"> (delivery {signal.id})</span>}
                </td>
                <td>{signal.by}</td>
                <td className="nowrap">
                  {formatTime(signal.atMs)} <span className="muted">+{formatDuration(signal.atMs - saga.createdAtMs)}</span>
                </td>
                <td>{signal.consumedBy ?? <span className="muted">{saga.endedAtMs === undefined ? "not taken yet" : "not taken"}</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** Sends the action; what to tell the operator once the server took it (a worker applies it moments later). */
async function perform(id: string, action: Action, reason: string, body: { by: string; reason?: string }): Promise<string> {
  switch (action.kind) {
    case "cancel": {
      const now = await cancelSaga(id, body);
      return `Cancel requested (saga ${now.status}). A running step settles first, then completed steps are compensated, newest first.`;
    }
    case "retry": {
      const now = await retrySaga(id, body);
      return `Retry requested (saga ${now.status}). The outstanding phases run again with a fresh retry budget.`;
    }
    case "skip": {
      const now = await skipCompensation(id, action.step, reason);
      return `Skip of ${action.step}'s compensation requested (saga ${now.status}). The compensations after it run; with none left the saga ends compensated.`;
    }
    case "resolve": {
      const now = await resolveSaga(id, reason);
      return `Marked resolved (saga ${now.status}). It stays failed, with your reason, and leaves the overview's attention list.`;
    }
  }
}

function dialogTitle(action: Action): string {
  switch (action.kind) {
    case "cancel":
      return "Cancel this saga?";
    case "retry":
      return "Retry this saga's compensations?";
    case "skip":
      return `Skip the compensation of ${action.step}?`;
    case "resolve":
      return "Mark this saga resolved?";
  }
}

/** Cancel and retry may go without a reason; a skip or a resolve must say what was done, so it starts empty. */
function defaultReason(action: Action): string {
  if (action.kind === "cancel") return "cancelled from the dashboard";
  if (action.kind === "retry") return "retried from the dashboard";
  return "";
}

function DialogBody({ action, saga }: { action: Action; saga: SagaState }) {
  switch (action.kind) {
    case "cancel":
      return (
        <p>
          The saga stops going forward: the step running now settles, then every completed step is compensated, newest first. This is refused once the saga passed
          its pivot step.
        </p>
      );
    case "retry":
      return <p>Its outstanding phases ({(saga.outstanding ?? []).map((o) => `${o.step} ${o.phase}`).join(", ") || "none"}) run again with a fresh retry budget.</p>;
    case "skip":
      return (
        <p>
          {action.step}'s compensation counts as settled by hand (its status becomes <em>skipped</em>, not succeeded); the compensations after it then run, and with
          none left the saga ends compensated. Say what was done instead.
        </p>
      );
    case "resolve":
      return (
        <p>
          The saga stays <em>failed</em> (that is what happened) and leaves the overview's attention list; its outstanding phases are left as they are. A retry later
          reopens it. Say how it was settled.
        </p>
      );
  }
}
