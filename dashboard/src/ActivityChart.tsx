import { useId } from "react";
import type { ActivityBucket } from "./api";
import { formatClock } from "./format";

export interface Series {
  key: keyof Omit<ActivityBucket, "startMs">;
  label: string;
  className: string;
}

interface ActivityChartProps {
  title: string;
  /** Read by screen readers after the title: what the chart shows, in numbers. */
  summary: string;
  buckets: readonly ActivityBucket[];
  bucketMs: number;
  series: readonly Series[];
  /** Side-by-side bars compare series; stacked bars add them up. */
  kind: "grouped" | "stacked";
  testId: string;
}

const WIDTH = 480;
const HEIGHT = 170;
const PAD = { left: 34, right: 10, top: 10, bottom: 24 };

export function ActivityChart({ title, summary, buckets, bucketMs, series, kind, testId }: ActivityChartProps) {
  const id = useId();
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const totals = buckets.map((b) => (kind === "stacked" ? series.reduce((sum, s) => sum + b[s.key], 0) : Math.max(0, ...series.map((s) => b[s.key]))));
  const yMax = niceCeiling(Math.max(1, ...totals));
  const n = Math.max(1, buckets.length);
  const slot = plotW / n;
  const x = (i: number) => PAD.left + i * slot;
  const y = (value: number) => PAD.top + plotH - (value / yMax) * plotH;
  const first = buckets[0]?.startMs;
  const ticks = xTicks(buckets.length);
  const unit = bucketMs === 60_000 ? "per minute" : `per ${Math.round(bucketMs / 1000)} s`;

  return (
    <figure className="chart" data-testid={testId}>
      <figcaption id={`${id}-caption`}>
        <span className="chart-title">{title}</span>
        <span className="chart-unit">sagas {unit}</span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby={`${id}-title ${id}-desc`} className="chart-svg">
        <title id={`${id}-title`}>{`${title}, sagas ${unit}, last hour`}</title>
        <desc id={`${id}-desc`}>{summary}</desc>
        {[0, 0.5, 1].map((f) => (
          <g key={f}>
            <line className="grid" x1={PAD.left} x2={WIDTH - PAD.right} y1={y(yMax * f)} y2={y(yMax * f)} />
            {Number.isInteger(yMax * f) && (
              <text className="axis-label" x={PAD.left - 6} y={y(yMax * f) + 4} textAnchor="end">
                {yMax * f}
              </text>
            )}
          </g>
        ))}
        {kind === "stacked"
          ? buckets.map((bucket, i) => {
              let base = 0;
              return (
                <g key={bucket.startMs}>
                  {series.map((s) => {
                    const value = bucket[s.key];
                    const top = base + value;
                    const rect =
                      value > 0 ? (
                        <rect key={s.key} className={s.className} x={x(i) + 0.5} width={Math.max(1, slot - 1)} y={y(top)} height={y(base) - y(top)}>
                          <title>{`${formatClock(bucket.startMs)}: ${value} ${s.label}`}</title>
                        </rect>
                      ) : null;
                    base = top;
                    return rect;
                  })}
                </g>
              );
            })
          : buckets.map((bucket, i) => {
              const barW = Math.max(1, (slot - 1) / series.length);
              return (
                <g key={bucket.startMs}>
                  {series.map((s, j) =>
                    bucket[s.key] > 0 ? (
                      <rect key={s.key} className={s.className} x={x(i) + 0.5 + j * barW} width={barW} y={y(bucket[s.key])} height={y(0) - y(bucket[s.key])}>
                        <title>{`${formatClock(bucket.startMs)}: ${bucket[s.key]} ${s.label}`}</title>
                      </rect>
                    ) : null,
                  )}
                </g>
              );
            })}
        <line className="axis" x1={PAD.left} x2={WIDTH - PAD.right} y1={PAD.top + plotH} y2={PAD.top + plotH} />
        {first !== undefined &&
          ticks.map((i) => (
            <text key={i} className="axis-label" x={x(i)} y={HEIGHT - 6} textAnchor={i === 0 ? "start" : i >= buckets.length ? "end" : "middle"}>
              {i >= buckets.length ? "now" : formatClock(first + i * bucketMs)}
            </text>
          ))}
      </svg>
      <ul className="legend">
        {series.map((s) => (
          <li key={s.key}>
            <span className={`swatch ${s.className}`} aria-hidden="true" />
            {s.label}
          </li>
        ))}
      </ul>
    </figure>
  );
}

function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

/** Bucket indexes to label: the start, every quarter, and the end ("now"). */
function xTicks(count: number): number[] {
  if (count === 0) return [];
  const step = Math.max(1, Math.round(count / 4));
  const ticks: number[] = [];
  for (let i = 0; i < count; i += step) ticks.push(i);
  if (count - (ticks.at(-1) ?? 0) < step / 2) ticks.pop();
  ticks.push(count);
  return ticks;
}
