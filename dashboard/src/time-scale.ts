// A time axis that stays readable when a saga sat idle for long (a failed saga retried hours
// later, say): long idle stretches are cut out and drawn as a fixed-width break, and the rest
// keeps one linear ms-per-pixel ratio, so attempts and backoff gaps stay comparable.

export interface Piece {
  fromMs: number;
  toMs: number;
  x0: number;
  x1: number;
}

export interface AxisBreak {
  fromMs: number;
  toMs: number;
  x0: number;
  x1: number;
}

export interface TimeScale {
  x: (ms: number) => number;
  pieces: Piece[];
  breaks: AxisBreak[];
  ticks: { ms: number; x: number; label: string }[];
}

const BREAK_PX = 48;
const MIN_BREAK_MS = 2_000;
const BREAK_SHARE = 0.3;
const MIN_TICK_PX = 80;

/**
 * `instants` are when something happened (an attempt started or ended, an operator acted); a
 * long stretch between two of them may become a break, even under an attempt that spans it (a
 * step waiting for minutes). With `keepUntilMs` (now, on a live saga) the stretch that ends at it
 * stays whole: how long it has been waiting is the news; a stretch after it (up to a planned
 * wake-up) may still be shortened. `originMs` is what tick labels count from.
 */
export function timeScale(startMs: number, endMs: number, instants: readonly number[], x0: number, x1: number, originMs: number, keepUntilMs: number | null): TimeScale {
  const idle = quietStretches(startMs, endMs, keepUntilMs === null ? instants : [...instants, keepUntilMs]).filter(
    ([from, to]) => !(keepUntilMs !== null && from < keepUntilMs && to >= keepUntilMs),
  );
  const cut: [number, number][] = [];
  // Largest first: cut a stretch only while it still dominates what is left uncut.
  let uncut = endMs - startMs;
  for (const [from, to] of [...idle].sort((a, b) => b[1] - b[0] - (a[1] - a[0]))) {
    const length = to - from;
    if (length >= MIN_BREAK_MS && length > BREAK_SHARE * uncut && x1 - x0 - (cut.length + 1) * BREAK_PX > 200) {
      cut.push([from, to]);
      uncut -= length;
    }
  }
  cut.sort((a, b) => a[0] - b[0]);

  const width = x1 - x0 - cut.length * BREAK_PX;
  const ratio = width / Math.max(1, uncut);
  const pieces: Piece[] = [];
  const breaks: AxisBreak[] = [];
  let cursorMs = startMs;
  let cursorX = x0;
  for (const [from, to] of cut) {
    const pieceEnd = cursorX + (from - cursorMs) * ratio;
    pieces.push({ fromMs: cursorMs, toMs: from, x0: cursorX, x1: pieceEnd });
    breaks.push({ fromMs: from, toMs: to, x0: pieceEnd, x1: pieceEnd + BREAK_PX });
    cursorMs = to;
    cursorX = pieceEnd + BREAK_PX;
  }
  pieces.push({ fromMs: cursorMs, toMs: endMs, x0: cursorX, x1: x1 });

  const x = (ms: number): number => {
    for (const piece of pieces) if (ms <= piece.toMs) return ms < piece.fromMs ? inBreak(ms, breaks, piece.x0) : piece.x0 + (ms - piece.fromMs) * ratio;
    return x1;
  };

  const stepMs = niceStep(MIN_TICK_PX / ratio);
  const ticks: TimeScale["ticks"] = [];
  for (const piece of pieces) {
    const first = Math.ceil((piece.fromMs - originMs) / stepMs) * stepMs;
    for (let offset = first; originMs + offset <= piece.toMs; offset += stepMs) {
      const tickX = x(originMs + offset);
      if (ticks.length > 0 && tickX - (ticks.at(-1)?.x ?? 0) < MIN_TICK_PX * 0.75) continue;
      // A break's own label ("≈2 min") sits above it.
      if (breaks.some((b) => Math.abs(tickX - (b.x0 + b.x1) / 2) < MIN_TICK_PX * 0.6)) continue;
      ticks.push({ ms: offset, x: tickX, label: axisLabel(offset, stepMs) });
    }
  }
  return { x, pieces, breaks, ticks };
}

function inBreak(ms: number, breaks: readonly AxisBreak[], fallback: number): number {
  const axisBreak = breaks.find((b) => ms >= b.fromMs && ms <= b.toMs);
  if (axisBreak === undefined) return fallback;
  return axisBreak.x0 + ((ms - axisBreak.fromMs) / Math.max(1, axisBreak.toMs - axisBreak.fromMs)) * (axisBreak.x1 - axisBreak.x0);
}

function quietStretches(startMs: number, endMs: number, instants: readonly number[]): [number, number][] {
  const points = [...new Set([startMs, ...instants.filter((t) => t >= startMs && t <= endMs), endMs])].sort((a, b) => a - b);
  const stretches: [number, number][] = [];
  for (let i = 1; i < points.length; i++) {
    const from = points[i - 1];
    const to = points[i];
    if (from !== undefined && to !== undefined && to > from) stretches.push([from, to]);
  }
  return stretches;
}

function niceStep(minMs: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(Math.max(1, minMs)));
  for (const factor of [1, 2, 5, 10]) if (factor * magnitude >= minMs) return factor * magnitude;
  return 10 * magnitude;
}

/** Offsets from the saga's start, in ms below a second's steps, else in s (or min for long sagas). */
function axisLabel(offsetMs: number, stepMs: number): string {
  if (offsetMs < 1_000 && stepMs < 1_000) return `${offsetMs} ms`;
  if (stepMs < 60_000 || offsetMs < 120_000) {
    const decimals = stepMs >= 1_000 ? 0 : stepMs >= 100 ? 1 : stepMs >= 10 ? 2 : 3;
    return `${(offsetMs / 1_000).toFixed(decimals)} s`;
  }
  return `${Number((offsetMs / 60_000).toFixed(1))} min`;
}
