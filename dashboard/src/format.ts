// Every number shown carries its unit: operators compare these across screens.

/** A duration for people: "850 ms", "3.2 s", "4 min 12 s", "2 h 5 min", "3 d 4 h". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  const abs = Math.max(0, ms);
  if (abs < 1_000) return `${Math.round(abs)} ms`;
  if (abs < 10_000) return `${trim(abs / 1_000, 2)} s`;
  if (abs < 60_000) return `${trim(abs / 1_000, 1)} s`;
  const totalSeconds = Math.floor(abs / 1_000);
  if (totalSeconds < 3_600) return pair(Math.floor(totalSeconds / 60), "min", totalSeconds % 60, "s");
  const totalMinutes = Math.floor(totalSeconds / 60);
  if (totalMinutes < 24 * 60) return pair(Math.floor(totalMinutes / 60), "h", totalMinutes % 60, "min");
  const totalHours = Math.floor(totalMinutes / 60);
  return pair(Math.floor(totalHours / 24), "d", totalHours % 24, "h");
}

function pair(major: number, majorUnit: string, minor: number, minorUnit: string): string {
  return minor === 0 ? `${major} ${majorUnit}` : `${major} ${majorUnit} ${minor} ${minorUnit}`;
}

function trim(value: number, digits: number): string {
  return String(Number(value.toFixed(digits)));
}

/** An offset from the saga's start, in the unit that suits the axis it belongs to. */
export function formatOffset(ms: number, unit: "ms" | "s" | "min"): string {
  if (unit === "ms") return `${Math.round(ms)} ms`;
  if (unit === "s") return `${trim(ms / 1_000, 2)} s`;
  return `${trim(ms / 60_000, 1)} min`;
}

/** Local date and time, to the second. */
export function formatTime(ms: number): string {
  return new Date(ms).toLocaleString(undefined, {
    year: "numeric",
    month: "short",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

/** Local time with milliseconds, for history rows that are often milliseconds apart. */
export function formatPreciseTime(ms: number): string {
  const date = new Date(ms);
  const time = date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  return `${time}.${String(date.getMilliseconds()).padStart(3, "0")}`;
}

/** A moment near `nearMs`: its time of day when on the same day, else date and time. */
export function formatWhen(ms: number, nearMs: number): string {
  const date = new Date(ms);
  if (date.toDateString() !== new Date(nearMs).toDateString()) return formatTime(ms);
  return date.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** How far a moment is from now, in words: "in 3 min", "2 min ago". */
export function formatRelative(ms: number, nowMs: number): string {
  return ms >= nowMs ? `in ${formatDuration(ms - nowMs)}` : `${formatDuration(nowMs - ms)} ago`;
}

export function formatClock(ms: number): string {
  return new Date(ms).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

export function formatJson(value: unknown): string {
  return value === undefined ? "(none)" : JSON.stringify(value, null, 2);
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
