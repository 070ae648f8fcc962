import { formatJson } from "./format";

/** A JSON value, pretty-printed, in a box that scrolls rather than stretching the page. */
export function JsonBlock({ value, testId }: { value: unknown; testId?: string }) {
  return (
    <pre className="json" data-testid={testId} tabIndex={0}>
      {formatJson(value)}
    </pre>
  );
}
