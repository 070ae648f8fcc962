import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Whether an `Authorization` header carries the bearer token. Both sides are hashed first, so the
 * comparison takes the same time whatever the header holds, its length included.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (header === undefined) return false;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  const presented = match?.[1] ?? "";
  const equal = timingSafeEqual(digest(presented), digest(token));
  return match !== null && equal;
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}
