import { Fragment } from "react";
import { listDefinitions, type Definition, type RetryPolicy, type StepDefinition, type StepGroup } from "./api";
import { ErrorNotice } from "./ErrorNotice";
import { formatDuration, plural } from "./format";
import { usePolling } from "./usePolling";

export function Definitions() {
  // Definitions change rarely (a PUT, a deploy); a slow poll keeps the page honest without reloads.
  const definitions = usePolling((signal) => listDefinitions(signal), 30_000, []);
  return (
    <>
      <h1>Definitions</h1>
      <p className="muted">
        Each saga runs its steps left to right (the steps of a parallel group all at once); when one fails for good, the compensations beneath the completed steps run
        right to left.
      </p>
      <ul className="legend definitions-legend" aria-label="Legend">
        <li>
          <span className="tag tag-pivot">pivot</span> once it succeeds the saga only rolls forward
        </li>
        <li>
          <span className="tag tag-wait">waits for answer</span> no action of its own: completed or failed from outside
        </li>
        <li>
          <span className="tag tag-wait">sleeps</span> a durable timer: waits, holding no worker
        </li>
        <li>
          <span className="swatch swatch-compensation" aria-hidden="true" /> compensation (undo)
        </li>
        <li>
          <span className="swatch swatch-group" aria-hidden="true" /> parallel group: its steps start together; on failure <em>wait</em> lets the others in flight
          finish, <em>cancel</em> stops them; what took effect is then undone, newest first
        </li>
      </ul>
      {definitions.error !== undefined && <ErrorNotice error={definitions.error} what="Definitions" />}
      {definitions.data === undefined ? (
        definitions.loading && <p className="muted">Loading…</p>
      ) : definitions.data.length === 0 ? (
        <p className="empty">This server runs no definitions.</p>
      ) : (
        definitions.data.map((definition) => <DefinitionDiagram key={`${definition.name}@${definition.version}`} definition={definition} />)
      )}
    </>
  );
}

/** One column of the diagram: a step on its own, or the consecutive steps of one parallel group. */
type Column = { kind: "step"; step: StepDefinition; index: number } | { kind: "group"; group: StepGroup; members: { step: StepDefinition; index: number }[] };

function columnsOf(steps: readonly StepDefinition[]): Column[] {
  const columns: Column[] = [];
  steps.forEach((step, index) => {
    const last = columns.at(-1);
    if (step.group === undefined) columns.push({ kind: "step", step, index });
    else if (last?.kind === "group" && last.group.name === step.group.name) last.members.push({ step, index });
    else columns.push({ kind: "group", group: step.group, members: [{ step, index }] });
  });
  return columns;
}

function DefinitionDiagram({ definition }: { definition: Definition }) {
  const id = `${definition.name}@${definition.version}`;
  const columns = columnsOf(definition.steps);
  const headingId = `def-${id.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  return (
    <section className="definition" data-testid={`definition-${id}`} aria-labelledby={headingId}>
      <h2 id={headingId}>
        {definition.name} <span className="version">version {definition.version}</span>
      </h2>
      <p className="muted small">
        {plural(definition.steps.length, "step")}
        {definition.maxRecoveries !== undefined && ` · parked as failed after ${plural(definition.maxRecoveries, "recovery", "recoveries")} of attempts in doubt`}
        {" · "}
        <a href={`#/sagas?definition=${encodeURIComponent(definition.name)}`}>its sagas</a>
      </p>
      {/* Focusable so a keyboard can scroll a long saga sideways. */}
      <div className="diagram-scroll" tabIndex={0} role="group" aria-label={`Steps of ${id}`}>
        <ol className={columns.some((c) => c.kind === "group") ? "diagram has-groups" : "diagram"} style={{ gridTemplateColumns: columns.map((c) => (c.kind === "group" ? "minmax(230px, 280px)" : "minmax(190px, 240px)")).join(" ") }}>
          {columns.map((column, c) => {
            const first = c === 0;
            const last = c === columns.length - 1;
            if (column.kind === "group") return <GroupColumn key={`group:${column.group.name}`} column={column} at={c + 1} first={first} last={last} />;
            const { step, index } = column;
            return (
              <Fragment key={step.name}>
                <li className="diagram-step" style={{ gridColumn: c + 1, gridRow: 1 }} data-testid={`step-${step.name}`}>
                  <ActionBox step={step} index={index} arrow={!last} />
                </li>
                <li className="diagram-compensation" style={{ gridColumn: c + 1, gridRow: 2 }} aria-label={`Compensation of ${step.name}`}>
                  <CompensationBox step={step} arrow={!first} />
                </li>
              </Fragment>
            );
          })}
        </ol>
      </div>
    </section>
  );
}

/**
 * A parallel group: one box over both rows of its column, named, with its steps stacked in the
 * upper half and their compensations, in the same order, in the lower half. The arrows go into and
 * out of the box as a whole: its steps start together, and the next column waits for all of them.
 */
function GroupColumn({ column, at, first, last }: { column: Extract<Column, { kind: "group" }>; at: number; first: boolean; last: boolean }) {
  const { group, members } = column;
  const headingId = `group-${at}-${group.name.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const onFailure =
    group.onFailure === "wait"
      ? "when one fails for good, the others in flight finish first; then what took effect is undone, newest first"
      : "when one fails for good, the others in flight are cancelled; then what took effect is undone, newest first";
  return (
    <li className="diagram-group" style={{ gridColumn: at, gridRow: "1 / span 2" }} data-testid={`group-${group.name}`} aria-labelledby={headingId}>
      <div className="group-forward">
        <div className="group-head" id={headingId}>
          <strong>
            <span aria-hidden="true">∥ </span>
            {group.name}
          </strong>
          <span className="tag tag-group" title={`Its ${members.length} steps start together; ${onFailure}`}>
            parallel · on failure: {group.onFailure}
          </span>
        </div>
        <ol className="group-members" aria-label={`Steps of ${group.name}, started together`}>
          {members.map(({ step, index }) => (
            <li key={step.name} className="diagram-step" data-testid={`step-${step.name}`}>
              <ActionBox step={step} index={index} arrow={false} />
            </li>
          ))}
        </ol>
        {!last && <Arrow direction="right" label="then, once all succeeded" />}
      </div>
      <div className="group-undo">
        {!first && <Arrow direction="left" label="then undo" />}
        <p className="group-undo-head">undo what took effect, newest first</p>
        <ol className="group-members" aria-label={`Compensations of ${group.name}`}>
          {members.map(({ step }) => (
            <li key={step.name} className="diagram-compensation" aria-label={`Compensation of ${step.name}`}>
              <CompensationBox step={step} arrow={false} />
            </li>
          ))}
        </ol>
      </div>
    </li>
  );
}

function ActionBox({ step, index, arrow }: { step: StepDefinition; index: number; arrow: boolean }) {
  return (
    <div className="step-cell">
      <div className={`box action-box${step.pivot ? " pivot" : ""}${step.wait === true ? " wait" : ""}`}>
        <div className="box-title">
          <span className="step-index">{index + 1}</span>
          <strong>{step.name}</strong>
        </div>
        <div className="tags">
          {step.pivot && (
            <span className="tag tag-pivot" data-testid="step-pivot" title="Once this step succeeds the saga only rolls forward">
              pivot
            </span>
          )}
          {step.sleep !== undefined && (
            <span className="tag tag-wait" data-testid="step-sleep" title="A durable timer: no call of its own, and no worker is held while it sleeps">
              {step.sleep.kind === "duration" ? `sleeps ${formatDuration(step.sleep.durationMs)}` : "sleeps until a computed time"}
            </span>
          )}
          {step.wait === true &&
            (step.event === undefined ? (
              <span className="tag tag-wait" data-testid="step-wait" title="No action of its own: waits for an outside answer (complete or fail)">
                waits for answer
              </span>
            ) : (
              <span className="tag tag-wait" data-testid="step-wait" title="No action of its own: answered by this named event (POST …/signals/{name})">
                waits for event <span className="mono">{step.event}</span>
              </span>
            ))}
        </div>
        {step.sleep?.kind === "duration" ? (
          <dl className="policy">
            <dt>Sleeps</dt>
            <dd>{formatDuration(step.sleep.durationMs)} from its start, holding no worker</dd>
          </dl>
        ) : (
          <Policy retry={step.retry} timeoutMs={step.timeoutMs} wait={step.wait === true} />
        )}
      </div>
      {arrow && <Arrow direction="right" label="then" />}
    </div>
  );
}

function CompensationBox({ step, arrow }: { step: StepDefinition; arrow: boolean }) {
  return (
    <div className="step-cell">
      {arrow && <Arrow direction="left" label="then undo" />}
      {step.hasCompensation ? (
        <div className="box compensation-box" data-testid={`compensation-${step.name}`}>
          <div className="box-title">
            <span aria-hidden="true">↶</span> <strong>undo {step.name}</strong>
          </div>
          {step.compensateOnFailure === true && <p className="small">Also runs when the action failed: it may have taken effect.</p>}
          <Policy retry={step.compensationRetry} timeoutMs={step.compensationTimeoutMs} wait={false} />
        </div>
      ) : (
        <div className="box no-compensation" data-testid={`compensation-${step.name}`}>
          no compensation
        </div>
      )}
    </div>
  );
}

function Policy({ retry, timeoutMs, wait }: { retry: Partial<RetryPolicy> | undefined; timeoutMs: number | undefined; wait: boolean }) {
  return (
    <dl className="policy">
      <dt>Retry</dt>
      <dd>{describeRetry(retry)}</dd>
      <dt>{wait ? "Waits" : "Timeout"}</dt>
      <dd>{timeoutMs === undefined || timeoutMs === 0 ? (wait ? "forever" : "none") : `${formatDuration(timeoutMs)} per attempt`}</dd>
      {retry?.terminalErrors !== undefined && retry.terminalErrors.length > 0 && (
        <>
          <dt>Fails at once on</dt>
          <dd className="mono small">{retry.terminalErrors.join(", ")}</dd>
        </>
      )}
    </dl>
  );
}

function describeRetry(retry: Partial<RetryPolicy> | undefined): string {
  if (retry?.maxAttempts === undefined) return "default policy";
  if (retry.maxAttempts <= 1) return "1 attempt, no retry";
  const parts = [`up to ${retry.maxAttempts} attempts`];
  if (retry.initialDelayMs !== undefined) {
    let backoff = `backoff ${formatDuration(retry.initialDelayMs)}`;
    if (retry.multiplier !== undefined && retry.multiplier !== 1) backoff += ` ×${retry.multiplier}`;
    if (retry.maxDelayMs !== undefined && retry.multiplier !== 1) backoff += ` up to ${formatDuration(retry.maxDelayMs)}`;
    parts.push(backoff);
  }
  if (retry.jitter === "full") parts.push("full jitter");
  return parts.join(", ");
}

function Arrow({ direction, label }: { direction: "left" | "right"; label: string }) {
  return (
    <svg className={`arrow arrow-${direction}`} width="34" height="16" viewBox="0 0 34 16" role="img" aria-label={label}>
      {direction === "right" ? <path d="M 2 8 H 28 M 22 3 L 30 8 L 22 13" /> : <path d="M 32 8 H 6 M 12 3 L 4 8 L 12 13" />}
    </svg>
  );
}
