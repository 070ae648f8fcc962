import type { SagaState, SagaStatus } from "./api";
import { formatTime } from "./format";

/** The status as a word in its colour: the word carries the meaning, the colour only helps scanning. */
export function StatusBadge({ status, testId = "status" }: { status: SagaStatus; testId?: string }) {
  return (
    <span className={`badge badge-${status}`} data-testid={testId}>
      {status}
    </span>
  );
}

/**
 * Beside a `failed` badge: an operator marked the saga resolved. The status stays failed (that is
 * what happened); the tag says it needs no more attention, and its title says who settled it and why.
 */
export function ResolvedTag({ resolution }: { resolution: NonNullable<SagaState["resolution"]> }) {
  return (
    <span className="tag tag-resolved" data-testid="resolved-tag" title={`Resolved by ${resolution.by} at ${formatTime(resolution.atMs)}: ${resolution.reason}`}>
      resolved
    </span>
  );
}
