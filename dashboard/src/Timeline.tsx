import { useId, type KeyboardEvent } from "react";
import type { Phase, SagaState, StepState } from "./api";
import { formatDuration } from "./format";
import { describePhaseStatus } from "./saga-model";
import { describeSegment, describeSkip, type Segment, type Skip, type TimelineModel } from "./timeline-model";
import { timeScale } from "./time-scale";
import { useElementWidth } from "./useElementWidth";

const LABEL_W = 210;
const RIGHT_PAD = 24;
const AXIS_H = 30;
const LANE_H = 62;
const TRACK = { action: { y: 10, h: 18 }, compensation: { y: 36, h: 18 } } as const;
const MIN_SEGMENT_PX = 5;
const SKIP_W = 52;

interface TimelineProps {
  saga: SagaState;
  model: TimelineModel;
  pivots: ReadonlySet<string>;
  /** Steps that wait for an outside answer rather than run an action. */
  waits: ReadonlySet<string>;
  selected: string | null;
  onSelect: (key: string) => void;
  nowMs: number;
}

export function Timeline({ saga, model, pivots, waits, selected, onSelect, nowMs }: TimelineProps) {
  const [ref, width] = useElementWidth<HTMLDivElement>(900);
  const id = useId();
  const steps = saga.steps.map((s) => s.name);
  // Steps seen in the history but not in the state (should not happen) still get a lane.
  for (const segment of model.segments) if (!steps.includes(segment.step)) steps.push(segment.step);

  const instants = [
    model.startMs,
    ...model.segments.flatMap((s) => [s.startMs, s.endMs ?? nowMs]),
    ...model.gaps.map((g) => g.toMs),
    ...model.cancels.map((c) => c.atMs),
    ...model.retries.map((r) => r.atMs),
    ...model.skips.map((s) => s.atMs),
    ...(saga.endedAtMs === undefined ? [] : [saga.endedAtMs]),
  ];
  const running = saga.endedAtMs === undefined;
  const scale = timeScale(model.startMs, model.endMs, instants, LABEL_W, width - RIGHT_PAD, model.startMs, running);
  const height = AXIS_H + steps.length * LANE_H + 8;
  const laneY = (step: string) => AXIS_H + steps.indexOf(step) * LANE_H;
  const flipAt = width - RIGHT_PAD - 60;

  return (
    <div className="timeline" data-testid="timeline" ref={ref} role="group" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Timeline</h2>
      <p className="muted small">
        One lane per step: its action above, its compensation (hatched) below. Times are from the saga's start. Select an attempt for its details.
      </p>
      <svg width={width} height={height} className="timeline-svg" aria-describedby={`${id}-legend`}>
        <defs>
          {(["succeeded", "failed", "running", "in_doubt"] as const).map((outcome) => (
            <pattern key={outcome} id={`${id}-hatch-${outcome}`} patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">
              <rect width="6" height="6" className={`hatch-bg hatch-${outcome}`} />
              <line x1="0" y1="0" x2="0" y2="6" className={`hatch-line hatch-${outcome}`} strokeWidth="3" />
            </pattern>
          ))}
        </defs>

        {steps.map((step, i) => (
          <rect key={step} x={0} y={AXIS_H + i * LANE_H} width={width} height={LANE_H} className={i % 2 === 0 ? "lane-bg" : "lane-bg alt"} />
        ))}

        <g className="time-axis" aria-hidden="true">
          {scale.ticks.map((tick) => (
            <g key={tick.ms}>
              <line x1={tick.x} x2={tick.x} y1={AXIS_H - 6} y2={height - 8} className="tick-line" />
              <text x={tick.x} y={AXIS_H - 10} textAnchor="middle" className="axis-label">
                {tick.label}
              </text>
            </g>
          ))}
        </g>

        {steps.map((step) => (
          <Lane key={step} step={step} state={saga.steps.find((s) => s.name === step)} y={laneY(step)} pivot={pivots.has(step)} width={width} />
        ))}

        {model.gaps.map((gap) => {
          const y = laneY(gap.step) + TRACK[gap.phase].y + TRACK[gap.phase].h / 2;
          const x0 = scale.x(gap.fromMs);
          const x1 = Math.max(x0 + 2, scale.x(gap.toMs));
          const text = `${gap.pending ? "next attempt in" : gap.recovery ? "recovered after" : "backoff"} ${formatDuration(gap.toMs - gap.fromMs)}`;
          return (
            <g key={`gap-${gap.key}`} className={gap.pending ? "backoff pending" : "backoff"} data-testid="backoff-gap" data-step={gap.step} data-phase={gap.phase}>
              <line x1={x0} x2={x1} y1={y} y2={y} />
              {x1 - x0 > 70 && (
                <text x={(x0 + x1) / 2} y={y - TRACK[gap.phase].h / 2 + 1} textAnchor="middle" className="gap-label">
                  {text}
                </text>
              )}
              <title>{`${gap.step} ${gap.phase}: ${text}`}</title>
            </g>
          );
        })}

        {model.segments.map((segment) => (
          <SegmentShape
            key={segment.key}
            segment={segment}
            x0={scale.x(segment.startMs)}
            x1={scale.x(segment.endMs ?? nowMs)}
            y={laneY(segment.step)}
            hatch={`url(#${id}-hatch-${segment.outcome})`}
            selected={selected === segment.key}
            waiting={waits.has(segment.step) && segment.phase === "action" && segment.outcome === "running"}
            onSelect={onSelect}
          />
        ))}

        {/* Over the segments: an attempt that spans a break is seen to pass through it. */}
        <g className="axis-breaks" aria-hidden="true">
          {scale.breaks.map((b) => (
            <g key={b.fromMs} className="axis-break">
              <rect x={b.x0} y={AXIS_H} width={b.x1 - b.x0} height={height - AXIS_H - 8} />
              <line x1={b.x0} x2={b.x0} y1={AXIS_H} y2={height - 8} />
              <line x1={b.x1} x2={b.x1} y1={AXIS_H} y2={height - 8} />
              <text x={(b.x0 + b.x1) / 2} y={AXIS_H - 10} textAnchor="middle" className="axis-label">
                ≈{formatDuration(b.toMs - b.fromMs)}
              </text>
              <title>{`${formatDuration(b.toMs - b.fromMs)} in which nothing started or ended, shortened`}</title>
            </g>
          ))}
        </g>

        {model.gaveUp
          .filter((g) => g.phase === "compensation")
          .map((g) => (
            <g key={`gave-up-${g.step}-${g.atMs}`} data-testid="gave-up-marker" className="gave-up" transform={`translate(${scale.x(g.atMs) + 8}, ${laneY(g.step) + TRACK.compensation.y + TRACK.compensation.h / 2})`}>
              <path d="M -5 -5 L 5 5 M -5 5 L 5 -5" />
              <title>{`${g.step} compensation gave up after ${g.attempts} attempts: ${g.error.message}`}</title>
            </g>
          ))}

        {model.skips
          .filter((skip) => steps.includes(skip.step))
          .map((skip) => (
            <SkipMarker key={`skip-${skip.seq}`} skip={skip} x={scale.x(skip.atMs)} y={laneY(skip.step) + TRACK.compensation.y} flip={scale.x(skip.atMs) + SKIP_W > width - RIGHT_PAD} />
          ))}

        {model.failure !== null && steps.includes(model.failure.step) && (
          <FailureMarker x={scale.x(model.failure.atMs)} y={laneY(model.failure.step) + TRACK.action.y + TRACK.action.h / 2} failure={model.failure} />
        )}

        {model.cancels.map((c) => (
          <Instant key={`cancel-${c.seq}`} flip={scale.x(c.atMs) > flipAt} x={scale.x(c.atMs)} height={height} label="cancel" title={c.label} testId="cancel-marker" className="instant cancel" />
        ))}
        {model.retries.map((r) => (
          <Instant key={`retry-${r.seq}`} flip={scale.x(r.atMs) > flipAt} x={scale.x(r.atMs)} height={height} label="retry" title={r.label} testId="retry-marker" className="instant retry" />
        ))}
        {running && <Instant x={scale.x(nowMs)} height={height} label="now" title="now" testId="now-marker" className="instant now" flip />}
      </svg>
      <Legend id={`${id}-legend`} hatchId={`${id}-hatch-succeeded`} skipped={model.skips.length > 0} />
    </div>
  );
}

function Lane({ step, state, y, pivot, width }: { step: string; state: StepState | undefined; y: number; pivot: boolean; width: number }) {
  // Where each phase stands now, in words (a skipped compensation reads "skipped", not "succeeded").
  const status = state === undefined ? "" : `: action ${describePhaseStatus(state.action.status)}, compensation ${describePhaseStatus(state.compensation.status)}`;
  return (
    <g
      data-testid={`lane-${step}`}
      className="lane"
      data-step={step}
      data-action-status={state?.action.status}
      data-compensation-status={state?.compensation.status}
    >
      <line x1={0} x2={width} y1={y + LANE_H} y2={y + LANE_H} className="lane-rule" />
      <text x={10} y={y + 22} className="lane-name">
        {truncate(step, 20)}
        <title>{`${step}${status}`}</title>
      </text>
      {pivot && (
        <g data-testid="pivot-marker" className="pivot-marker" transform={`translate(10, ${y + 32})`}>
          <rect width={40} height={16} rx={8} />
          <text x={20} y={12} textAnchor="middle">
            pivot
          </text>
          <title>Pivot step: once it succeeds the saga only rolls forward</title>
        </g>
      )}
      <text x={LABEL_W - 8} y={y + TRACK.action.y + 13} textAnchor="end" className="track-label">
        action
      </text>
      <text x={LABEL_W - 8} y={y + TRACK.compensation.y + 13} textAnchor="end" className="track-label compensation">
        compensation
      </text>
    </g>
  );
}

interface SegmentShapeProps {
  segment: Segment;
  x0: number;
  x1: number;
  y: number;
  hatch: string;
  selected: boolean;
  waiting: boolean;
  onSelect: (key: string) => void;
}

function SegmentShape({ segment, x0, x1, y, hatch, selected, waiting, onSelect }: SegmentShapeProps) {
  const track = TRACK[segment.phase];
  const w = Math.max(MIN_SEGMENT_PX, x1 - x0);
  const label = describeSegment(segment);
  const text = waiting ? `#${segment.attempt} waiting for an answer` : segment.phase === "compensation" ? `undo #${segment.attempt}` : `#${segment.attempt}`;
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      onSelect(segment.key);
    }
  };
  return (
    <g
      className={`segment ${segment.phase} ${segment.outcome}${selected ? " selected" : ""}`}
      tabIndex={0}
      role="button"
      aria-label={label}
      aria-pressed={selected}
      data-testid="segment"
      data-step={segment.step}
      data-phase={segment.phase}
      data-attempt={segment.attempt}
      data-outcome={segment.outcome}
      onClick={() => onSelect(segment.key)}
      onKeyDown={onKeyDown}
    >
      <rect className="focus-ring" x={x0 - 3} y={y + track.y - 3} width={w + 6} height={track.h + 6} rx={5} />
      <rect className="seg-rect" x={x0} y={y + track.y} width={w} height={track.h} rx={3} style={segment.phase === "compensation" ? { fill: hatch } : undefined} />
      {w > 46 && (
        <text x={x0 + 5} y={y + track.y + 13} className="seg-text">
          {text}
        </text>
      )}
      <title>{`${label}${segment.endMs === null ? "" : `, ${formatDuration(segment.endMs - segment.startMs)}`}`}</title>
    </g>
  );
}

/**
 * A compensation an operator counted as settled by hand: a grey dashed box that says "skipped" in
 * the step's compensation track, at the time of the skip; its reason and who skipped it are in its label.
 */
function SkipMarker({ skip, x, y, flip }: { skip: Skip; x: number; y: number; flip: boolean }) {
  const label = describeSkip(skip);
  const x0 = flip ? x - SKIP_W : x;
  return (
    <g data-testid="skip-marker" className="skip-marker" data-step={skip.step} role="img" aria-label={label}>
      <rect x={x0} y={y} width={SKIP_W} height={TRACK.compensation.h} rx={3} />
      <text x={x0 + SKIP_W / 2} y={y + 13} textAnchor="middle">
        skipped
      </text>
      <title>{label}</title>
    </g>
  );
}

function FailureMarker({ x, y, failure }: { x: number; y: number; failure: NonNullable<TimelineModel["failure"]> }) {
  const what = failure.compensated ? "triggered compensation" : "stopped the saga";
  return (
    <g data-testid="failure-marker" className="failure-marker" transform={`translate(${x}, ${y})`} data-step={failure.step} role="img" aria-label={`Failure of ${failure.step} that ${what}${failure.error === undefined ? "" : `: ${failure.error.message}`}`}>
      <path d="M 0 -11 L 11 0 L 0 11 L -11 0 Z" />
      <text y={4} textAnchor="middle">
        !
      </text>
      <title>{`${failure.step} failed for good: this ${what}${failure.error === undefined ? "" : ` (${failure.error.message})`}`}</title>
    </g>
  );
}

interface InstantProps {
  x: number;
  height: number;
  label: string;
  title: string;
  testId: string;
  className: string;
  /** Label on the line's left: "now" sits at the right edge. */
  flip?: boolean;
}

function Instant({ x, height, label, title, testId, className, flip = false }: InstantProps) {
  return (
    <g data-testid={testId} className={className}>
      <line x1={x} x2={x} y1={AXIS_H - 4} y2={height - 8} />
      <text x={flip ? x - 4 : x + 4} y={height - 12} textAnchor={flip ? "end" : "start"} className="instant-label">
        {label}
      </text>
      <title>{title}</title>
    </g>
  );
}

function Legend({ id, hatchId, skipped }: { id: string; hatchId: string; skipped: boolean }) {
  const item = (className: string, text: string, phase: Phase = "action") => (
    <li>
      <svg width="26" height="12" aria-hidden="true" className={`segment ${phase} ${className}`}>
        <rect className="seg-rect" width="26" height="12" rx="3" style={phase === "compensation" ? { fill: `url(#${hatchId})` } : undefined} />
      </svg>
      {text}
    </li>
  );
  return (
    <ul className="legend timeline-legend" id={id} aria-label="Legend">
      {item("succeeded", "action succeeded")}
      {item("failed", "action failed")}
      {item("running", "running / waiting")}
      {item("in_doubt", "in doubt (worker died)")}
      {item("succeeded", "compensation", "compensation")}
      <li>
        <svg width="26" height="12" aria-hidden="true" className="backoff">
          <line x1="0" x2="26" y1="6" y2="6" />
        </svg>
        retry backoff
      </li>
      {skipped && (
        <li>
          <svg width="26" height="12" aria-hidden="true" className="skip-marker">
            <rect x="1" y="1" width="24" height="10" rx="3" />
          </svg>
          compensation skipped by an operator
        </li>
      )}
      <li>
        <svg width="16" height="16" aria-hidden="true" className="failure-marker" viewBox="-12 -12 24 24">
          <path d="M 0 -11 L 11 0 L 0 11 L -11 0 Z" />
        </svg>
        failure that stopped the saga
      </li>
    </ul>
  );
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
