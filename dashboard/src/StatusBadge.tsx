import type { SagaStatus } from "./api";

/** The status as a word in its colour: the word carries the meaning, the colour only helps scanning. */
export function StatusBadge({ status, testId = "status" }: { status: SagaStatus; testId?: string }) {
  return (
    <span className={`badge badge-${status}`} data-testid={testId}>
      {status}
    </span>
  );
}
