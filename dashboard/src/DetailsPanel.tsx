import { ErrorChain } from "./ErrorChain";
import { formatDuration, formatPreciseTime, formatRelative, formatWhen } from "./format";
import { JsonBlock } from "./JsonBlock";
import type { Segment } from "./timeline-model";

interface DetailsPanelProps {
  segment: Segment;
  originMs: number;
  nowMs: number;
  onClose: () => void;
}

/** Everything one attempt recorded: when it ran, and what it returned or why it failed. */
export function DetailsPanel({ segment, originMs, nowMs, onClose }: DetailsPanelProps) {
  const outcome = segment.outcome === "in_doubt" ? "in doubt" : segment.outcome;
  const end = segment.endMs ?? nowMs;
  const at = (ms: number) => `+${formatDuration(ms - originMs)} (${formatPreciseTime(ms)})`;
  return (
    <section className="details" data-testid="details" aria-labelledby="details-heading">
      <div className="details-head">
        <h3 id="details-heading">
          {segment.step} · {segment.phase} · attempt {segment.attempt}
        </h3>
        <button type="button" onClick={onClose} aria-label="Close details">
          Close
        </button>
      </div>
      <dl className="facts">
        <dt>Outcome</dt>
        <dd>
          <span className={`outcome outcome-${segment.outcome}`} data-testid="details-outcome">
            {outcome}
          </span>
          {segment.timedOut === true && " (timed out)"}
        </dd>
        <dt>Started</dt>
        <dd data-testid="details-started">{at(segment.startMs)}</dd>
        <dt>Ended</dt>
        <dd data-testid="details-ended">{segment.endMs === null ? "not yet" : at(segment.endMs)}</dd>
        <dt>Duration</dt>
        <dd data-testid="details-duration">
          {formatDuration(end - segment.startMs)}
          {segment.endMs === null && " so far"}
        </dd>
        {segment.nextAttemptAtMs !== undefined && (
          <>
            <dt>Next attempt</dt>
            <dd>due {at(segment.nextAttemptAtMs)}</dd>
          </>
        )}
        {segment.sleepUntilMs !== undefined && (
          <>
            <dt>{segment.outcome === "sleeping" ? "Wakes" : "Slept until"}</dt>
            <dd data-testid="details-wake">
              {formatWhen(segment.sleepUntilMs, nowMs)}
              {segment.outcome === "sleeping" && ` (${formatRelative(segment.sleepUntilMs, nowMs)})`}
              {segment.sleepStartMs !== undefined && <span className="muted"> · asleep since +{formatDuration(segment.sleepStartMs - originMs)}</span>}
            </dd>
          </>
        )}
        {segment.waiting === true && (
          <>
            <dt>Waits for</dt>
            <dd>{segment.event === undefined ? "an outside answer (complete or fail)" : <>the event <span className="mono">{segment.event}</span></>}</dd>
          </>
        )}
        {segment.by !== undefined && (
          <>
            <dt>Answered by</dt>
            <dd>{segment.by}</dd>
          </>
        )}
      </dl>
      {segment.outcome === "succeeded" && (
        <>
          <h4>Output</h4>
          <JsonBlock value={segment.output} testId="details-output" />
        </>
      )}
      {segment.error !== undefined && (
        <>
          <h4>Error</h4>
          <ErrorChain error={segment.error} />
        </>
      )}
      {segment.outcome === "in_doubt" && <p>The worker running this attempt stopped before recording its outcome; the attempt was run again with the same idempotency key.</p>}
      {segment.outcome === "running" &&
        (segment.waiting === true ? (
          <p>{segment.event === undefined ? "Waiting for an outside answer." : `Waiting for the event ${segment.event} (POST …/signals/${segment.event}).`}</p>
        ) : (
          <p>Still running (or waiting for an answer).</p>
        ))}
      {segment.outcome === "sleeping" && <p>Asleep: a durable timer, holding no worker. A cancel ends the sleep.</p>}
    </section>
  );
}
