/** The largest success body a step accepts: its output is stored in the saga's state. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;
/** How much of an error body is read to explain a refusal; the rest is dropped unread. */
export const ERROR_BODY_READ_BYTES = 64 * 1024;
/** How much of an explanation goes into an error message. */
export const MAX_DETAIL_CHARS = 500;
/** The longest wait a `Retry-After` can ask for; a longer one is most likely a mistake. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

export interface BodyBytes {
  readonly bytes: Uint8Array;
  /** False when the body was longer than the limit and the rest was not read. */
  readonly complete: boolean;
}

/**
 * Reads at most `limit` bytes of a response body. A longer body is cancelled, not drained, so a
 * participant streaming megabytes costs neither memory nor the time to receive them.
 */
export async function readBody(body: ReadableStream<Uint8Array> | null, limit: number): Promise<BodyBytes> {
  if (body === null) return { bytes: new Uint8Array(0), complete: true };
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes: Buffer.concat(chunks, size), complete: true };
      if (size + value.byteLength > limit) {
        chunks.push(value.subarray(0, limit - size));
        // The body is abandoned either way; a failure to cancel it changes nothing for the step.
        await reader.cancel().catch(() => undefined);
        return { bytes: Buffer.concat(chunks, limit), complete: false };
      }
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Drops a body without reading it, letting the connection go. */
export async function discardBody(body: ReadableStream<Uint8Array> | null): Promise<void> {
  await body?.cancel().catch(() => undefined);
}

/**
 * Milliseconds to wait from a `Retry-After` value (delta-seconds or an HTTP-date), at most an
 * hour; undefined when absent or unreadable, so the step's own backoff applies.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  // Every HTTP-date form starts with the day's name; Date.parse alone would read "1.5" as a date.
  if (!/^[A-Za-z]/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(at - nowMs, 0), MAX_RETRY_AFTER_MS);
}

/** Cuts `text` to at most `max` characters, marking the cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * A short explanation from an error response body: a problem+json's `detail` (or `title`), or a
 * JSON body's `detail`, `message` or `error`; else the text itself, whitespace collapsed.
 */
export function describeErrorBody(bytes: Uint8Array, complete: boolean): string {
  const text = new TextDecoder().decode(bytes);
  if (complete) {
    const explained = explanationOf(text);
    if (explained !== undefined) return truncate(explained.replace(/\s+/g, " ").trim(), MAX_DETAIL_CHARS);
  }
  const collapsed = text.replace(/\s+/g, " ").trim();
  return truncate(complete ? collapsed : `${collapsed}…`, MAX_DETAIL_CHARS);
}

function explanationOf(text: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const body = parsed as Record<string, unknown>;
  for (const key of ["detail", "message", "error", "title"]) {
    const value = body[key];
    if (typeof value === "string" && value.trim() !== "") return value;
    if (typeof value === "object" && value !== null && typeof (value as { message?: unknown }).message === "string") {
      return (value as { message: string }).message;
    }
  }
  return undefined;
}
