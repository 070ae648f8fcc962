import { InvalidArgumentError } from "../errors.js";

/** Where a page of `listInstances` ended: the last item's creation time and id. */
export interface ListPosition {
  createdAtMs: number;
  id: string;
}

/** Encodes a position as the opaque `nextCursor` string. */
export function encodeListCursor(position: ListPosition): string {
  return Buffer.from(`${position.createdAtMs}:${position.id}`, "utf8").toString("base64url");
}

/**
 * Decodes a `nextCursor`. Anything that `encodeListCursor` could not have produced is refused,
 * so a truncated or hand-edited cursor fails loudly instead of silently skipping instances.
 */
export function decodeListCursor(cursor: string): ListPosition {
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const match = /^(0|-?[1-9]\d*):(.+)$/s.exec(text);
  const createdAtMs = match?.[1] === undefined ? Number.NaN : Number(match[1]);
  const id = match?.[2];
  if (id === undefined || !Number.isSafeInteger(createdAtMs) || encodeListCursor({ createdAtMs, id }) !== cursor) {
    throw new InvalidArgumentError("cursor", "is not a cursor returned by listInstances; list again without it");
  }
  return { createdAtMs, id };
}

/**
 * Orders ids the way SQLite's BINARY collation does (UTF-8 bytes), so every adapter pages
 * through ties on `createdAtMs` in the same order.
 */
export function compareIds(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Below the surrogates a UTF-16 unit is its code point, and UTF-8 keeps code point order.
    if (x < 0xd800 || y < 0xd800) return x < y ? -1 : 1;
    return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
