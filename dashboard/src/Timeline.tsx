import { useId, type KeyboardEvent } from "react";
import type { Phase, SagaState, StepGroup, StepState } from "./api";
import { formatDuration, formatRelative, formatWhen } from "./format";
import { describePhaseStatus } from "./saga-model";
import { describeSegment, describeSignal, describeSkip, type Segment, type SignalMark, type Skip, type TimelineModel } from "./timeline-model";
import { timeScale } from "./time-scale";
import { useElementWidth } from "./useElementWidth";

const LABEL_W = 210;
const RIGHT_PAD = 24;
const AXIS_H = 30;
const LANE_H = 62;
const TRACK = { action: { y: 10, h: 18 }, compensation: { y: 36, h: 18 } } as const;
const MIN_SEGMENT_PX = 5;
const SKIP_W = 52;
/** The row above a parallel group's lanes that names the group. */
const GROUP_H = 22;
/** Roughly how wide a character of a segment's label is (10.5px, bold), to pick a label that fits. */
const CHAR_PX = 6.3;

interface TimelineProps {
  saga: SagaState;
  model: TimelineModel;
  pivots: ReadonlySet<string>;
  /** The parallel group of each step that runs in one (from the definition). */
  groups: ReadonlyMap<string, StepGroup>;
  selected: string | null;
  onSelect: (key: string) => void;
  nowMs: number;
}

/** A parallel group's lanes: the band drawn behind them, from its name row to its last lane. */
interface Band {
  group: StepGroup;
  members: string[];
  top: number;
  bottom: number;
}

/** Where each lane goes: one after another, with a name row above each parallel group's lanes. */
function layoutLanes(steps: readonly string[], groups: ReadonlyMap<string, StepGroup>): { tops: Map<string, number>; bands: Band[]; bottom: number } {
  const tops = new Map<string, number>();
  const bands: Band[] = [];
  let y = AXIS_H;
  let band: Band | null = null;
  for (const step of steps) {
    const group = groups.get(step);
    if (band !== null && group?.name !== band.group.name) band = null;
    if (group !== undefined && band === null) {
      band = { group, members: [], top: y, bottom: y };
      bands.push(band);
      y += GROUP_H;
    }
    tops.set(step, y);
    y += LANE_H;
    if (band !== null) {
      band.members.push(step);
      band.bottom = y;
    }
  }
  return { tops, bands, bottom: y };
}

export function Timeline({ saga, model, pivots, groups, selected, onSelect, nowMs }: TimelineProps) {
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
    ...model.signals.map((s) => s.atMs),
    ...model.deadlinesPassed.map((d) => d.atMs),
    ...model.aborts.map((a) => a.atMs),
    ...model.segments.flatMap((s) => (s.sleepUntilMs === undefined ? [] : [s.sleepUntilMs])),
    ...(model.deadlineAtMs === null ? [] : [model.deadlineAtMs]),
    ...(saga.endedAtMs === undefined ? [] : [saga.endedAtMs]),
  ];
  const running = saga.endedAtMs === undefined;
  const scale = timeScale(model.startMs, model.endMs, instants, LABEL_W, width - RIGHT_PAD, model.startMs, running ? nowMs : null);
  const layout = layoutLanes(steps, groups);
  const height = layout.bottom + 8;
  const laneY = (step: string) => layout.tops.get(step) ?? AXIS_H;
  const flipAt = width - RIGHT_PAD - 60;
  const sleeping = model.segments.filter((s) => s.outcome === "sleeping" && s.sleepUntilMs !== undefined && s.endMs === null);

  return (
    <div className="timeline" data-testid="timeline" ref={ref} role="group" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Timeline</h2>
      <p className="muted small">
        One lane per step: its action above, its compensation (hatched) below. Times are from the saga's start. Select an attempt for its details.
      </p>
      <svg width={width} height={height} className="timeline-svg" aria-describedby={`${id}-legend`}>
        <defs>
          {(["succeeded", "failed", "running", "in_doubt", "sleeping"] as const).map((outcome) => (
            <pattern key={outcome} id={`${id}-hatch-${outcome}`} patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">
              <rect width="6" height="6" className={`hatch-bg hatch-${outcome}`} />
              <line x1="0" y1="0" x2="0" y2="6" className={`hatch-line hatch-${outcome}`} strokeWidth="3" />
            </pattern>
          ))}
        </defs>

        {steps.map((step, i) => (
          <rect key={step} x={0} y={laneY(step)} width={width} height={LANE_H} className={i % 2 === 0 ? "lane-bg" : "lane-bg alt"} />
        ))}

        {layout.bands.map((band) => (
          <GroupBand key={band.group.name} band={band} width={width} />
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
            onSelect={onSelect}
            nowMs={nowMs}
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

        {/* Over the breaks too: a group's name and a coming wake-up stay readable where the axis is cut. */}
        {layout.bands.map((band) => (
          <GroupBandLabel key={band.group.name} band={band} />
        ))}
        {sleeping.map((segment) => (
          <WakeMarker
            key={`wake-${segment.key}`}
            segment={segment}
            from={scale.x(nowMs)}
            x={scale.x(segment.sleepUntilMs ?? nowMs)}
            y={laneY(segment.step)}
            flip={scale.x(segment.sleepUntilMs ?? nowMs) > flipAt}
            nowMs={nowMs}
          />
        ))}

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

        {model.signals.map((signal) => {
          const lane = signal.consumedBy !== undefined && steps.includes(signal.consumedBy) ? signal.consumedBy : null;
          return (
            <SignalMarker
              key={`signal-${signal.seq}`}
              signal={signal}
              x={scale.x(signal.atMs)}
              y={lane === null ? AXIS_H - 1 : laneY(lane) + TRACK.action.y + TRACK.action.h / 2}
              nowMs={nowMs}
            />
          );
        })}

        {model.deadlinesPassed.map((d) => (
          <Instant key={`deadline-${d.seq}`} flip={scale.x(d.atMs) > flipAt} x={scale.x(d.atMs)} height={height} label="deadline passed" title={d.label} testId="deadline-marker" className="instant deadline" top />
        ))}
        {model.deadlineAtMs !== null && (
          <Instant
            flip={scale.x(model.deadlineAtMs) > flipAt}
            x={scale.x(model.deadlineAtMs)}
            height={height}
            label="deadline"
            title={`deadline ${formatWhen(model.deadlineAtMs, nowMs)} (${formatRelative(model.deadlineAtMs, nowMs)}): a saga still going forward then rolls back`}
            testId="deadline-line"
            className="instant deadline planned"
            top
          />
        )}
        {model.aborts.map((a) => (
          <Instant key={`abort-${a.seq}`} flip={scale.x(a.atMs) > flipAt} x={scale.x(a.atMs)} height={height} label="abort" title={a.label} testId="abort-marker" className="instant abort" />
        ))}
        {model.cancels.map((c) => (
          <Instant key={`cancel-${c.seq}`} flip={scale.x(c.atMs) > flipAt} x={scale.x(c.atMs)} height={height} label="cancel" title={c.label} testId="cancel-marker" className="instant cancel" />
        ))}
        {model.retries.map((r) => (
          <Instant key={`retry-${r.seq}`} flip={scale.x(r.atMs) > flipAt} x={scale.x(r.atMs)} height={height} label="retry" title={r.label} testId="retry-marker" className="instant retry" />
        ))}
        {running && <Instant x={scale.x(nowMs)} height={height} label="now" title="now" testId="now-marker" className="instant now" flip />}
      </svg>
      <Legend
        id={`${id}-legend`}
        hatchId={`${id}-hatch-succeeded`}
        skipped={model.skips.length > 0}
        sleeps={model.segments.some((s) => s.sleepUntilMs !== undefined)}
        signals={model.signals.length > 0}
        deadlineAhead={model.deadlineAtMs !== null}
        deadlinePassed={model.deadlinesPassed.length > 0}
        groups={layout.bands.length > 0}
      />
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
  onSelect: (key: string) => void;
  nowMs: number;
}

/** The longest of `candidates` that fits in `width` px; the last one when none does but there is room for a short label. */
function fitLabel(candidates: readonly string[], width: number): string | null {
  for (const text of candidates) if (text.length * CHAR_PX + 10 <= width) return text;
  return width > 46 ? (candidates.at(-1) ?? null) : null;
}

function segmentLabels(segment: Segment, nowMs: number): string[] {
  const n = `#${segment.attempt}`;
  if (segment.phase === "compensation") return [`undo ${n}`];
  if (segment.outcome === "sleeping") {
    return segment.sleepUntilMs === undefined ? [`${n} sleeping`, n] : [`${n} sleeping until ${formatWhen(segment.sleepUntilMs, nowMs)}`, `${n} sleeping`, n];
  }
  if (segment.outcome === "running" && segment.waiting === true) {
    return segment.event === undefined ? [`${n} waiting for an answer`, `${n} waiting`, n] : [`${n} waiting for event ${segment.event}`, `${n} waiting for event`, `${n} waiting`, n];
  }
  if (segment.outcome === "succeeded" && segment.sleepUntilMs !== undefined) return [`${n} slept`, n];
  return [n];
}

function SegmentShape({ segment, x0, x1, y, hatch, selected, onSelect, nowMs }: SegmentShapeProps) {
  const track = TRACK[segment.phase];
  const w = Math.max(MIN_SEGMENT_PX, x1 - x0);
  const label = describeSegment(segment, nowMs);
  const text = fitLabel(segmentLabels(segment, nowMs), w);
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      onSelect(segment.key);
    }
  };
  return (
    <g
      className={`segment ${segment.phase} ${segment.outcome}${segment.sleepUntilMs !== undefined && segment.outcome === "succeeded" ? " slept" : ""}${selected ? " selected" : ""}`}
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
      {text !== null && (
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

/**
 * The lanes of a parallel group: a tinted band behind them with a bracket on the left, and a row
 * above them that names the group and what happens to its siblings when one fails.
 */
function GroupBand({ band, width }: { band: Band; width: number }) {
  const { group, members, top, bottom } = band;
  const label = `Parallel group ${group.name}: ${members.join(", ")} start together; on failure: ${group.onFailure} (${
    group.onFailure === "wait" ? "siblings in flight finish first" : "siblings in flight are cancelled"
  }), then what took effect is compensated`;
  return (
    <g data-testid={`group-band-${group.name}`} className="group-band" data-group={group.name} role="img" aria-label={label}>
      <rect className="group-band-bg" x={0} y={top} width={width} height={bottom - top} />
      <rect className="group-band-head" x={0} y={top} width={width} height={GROUP_H} />
      <path className="group-bracket" d={`M 9 ${top + 5} H 4 V ${bottom - 4} H 9`} />
      <title>{label}</title>
    </g>
  );
}

/** The name row's words, drawn over the axis breaks; the band itself (behind the lanes) carries the label for screen readers. */
function GroupBandLabel({ band }: { band: Band }) {
  return (
    <text x={14} y={band.top + 15} className="group-band-label" aria-hidden="true">
      <tspan className="group-band-name">∥ {truncate(band.group.name, 40)}</tspan>
      <tspan className="group-band-note"> parallel · on failure: {band.group.onFailure}</tspan>
    </text>
  );
}

/**
 * A sleeping attempt's planned wake-up: a dotted line from now to it, and a mark at it. The
 * sleeping segment itself ends at now, like anything still going on.
 */
function WakeMarker({ segment, from, x, y, flip, nowMs }: { segment: Segment; from: number; x: number; y: number; flip: boolean; nowMs: number }) {
  const until = segment.sleepUntilMs ?? nowMs;
  const label = `${segment.step} wakes at ${formatWhen(until, nowMs)} (${formatRelative(until, nowMs)})`;
  const mid = y + TRACK.action.y + TRACK.action.h / 2;
  return (
    <g data-testid="wake-marker" className="wake-marker" data-step={segment.step} role="img" aria-label={label}>
      {x - from > 2 && <line className="wake-rest" x1={from} x2={x} y1={mid} y2={mid} />}
      <line className="wake-bar" x1={x} x2={x} y1={y + TRACK.action.y - 4} y2={y + TRACK.action.y + TRACK.action.h + 4} />
      <text x={flip ? x - 5 : x + 5} y={y + TRACK.action.y + 13} textAnchor={flip ? "end" : "start"} className="wake-label">
        wakes {formatWhen(until, nowMs)}
      </text>
      <title>{label}</title>
    </g>
  );
}

/** A named event the saga received: an envelope in the lane of the step that took it, or on the axis while none did. */
function SignalMarker({ signal, x, y, nowMs }: { signal: SignalMark; x: number; y: number; nowMs: number }) {
  const label = describeSignal(signal);
  const detail = `${label} at ${formatWhen(signal.atMs, nowMs)}${signal.id === signal.name ? "" : ` (delivery ${signal.id})`}, ${
    signal.consumedBy === undefined ? "not taken by a step yet" : `taken by ${signal.consumedBy}`
  }`;
  return (
    <g
      data-testid="signal-marker"
      className={`signal-marker${signal.consumedBy === undefined ? " pending" : ""}`}
      data-event={signal.name}
      data-step={signal.consumedBy}
      transform={`translate(${x}, ${y})`}
      role="img"
      aria-label={label}
    >
      <rect x={-7} y={-5} width={14} height={10} rx={1.5} />
      <path d="M -7 -5 L 0 1 L 7 -5" />
      <title>{detail}</title>
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
  /** Label at the top of the lanes rather than at the bottom (where "now" and the operators' actions are). */
  top?: boolean;
}

function Instant({ x, height, label, title, testId, className, flip = false, top = false }: InstantProps) {
  return (
    <g data-testid={testId} className={className} role="img" aria-label={title}>
      <line x1={x} x2={x} y1={AXIS_H - 4} y2={height - 8} />
      <text x={flip ? x - 4 : x + 4} y={top ? AXIS_H + 9 : height - 12} textAnchor={flip ? "end" : "start"} className="instant-label">
        {label}
      </text>
      <title>{title}</title>
    </g>
  );
}

interface LegendProps {
  id: string;
  hatchId: string;
  skipped: boolean;
  sleeps: boolean;
  signals: boolean;
  deadlineAhead: boolean;
  deadlinePassed: boolean;
  groups: boolean;
}

function Legend({ id, hatchId, skipped, sleeps, signals, deadlineAhead, deadlinePassed, groups }: LegendProps) {
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
      {sleeps && item("sleeping", "sleeping (a timer; no worker held)")}
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
      {signals && (
        <li>
          <svg width="16" height="12" aria-hidden="true" className="signal-marker" viewBox="-8 -6 16 12">
            <rect x={-7} y={-5} width={14} height={10} rx={1.5} />
            <path d="M -7 -5 L 0 1 L 7 -5" />
          </svg>
          event received (in the lane of the step that took it)
        </li>
      )}
      {deadlineAhead && (
        <li>
          <svg width="12" height="16" aria-hidden="true" className="instant deadline planned">
            <line x1="6" x2="6" y1="0" y2="16" />
          </svg>
          the saga's deadline, ahead
        </li>
      )}
      {deadlinePassed && (
        <li>
          <svg width="12" height="16" aria-hidden="true" className="instant deadline">
            <line x1="6" x2="6" y1="0" y2="16" />
          </svg>
          deadline passed: rolled back
        </li>
      )}
      {groups && (
        <li>
          <svg width="26" height="12" aria-hidden="true" className="group-band">
            <rect className="group-band-head" width="26" height="12" />
            <path className="group-bracket" d="M 7 1 H 2 V 11 H 7" />
          </svg>
          parallel group (its steps start together)
        </li>
      )}
    </ul>
  );
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
