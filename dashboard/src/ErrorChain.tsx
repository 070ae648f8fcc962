import type { ErrorInfo } from "./api";

/** An error and every cause under it, outermost first: the root cause is usually the useful one. */
export function ErrorChain({ error }: { error: ErrorInfo }) {
  const chain: ErrorInfo[] = [];
  const seen = new Set<ErrorInfo>();
  for (let current: ErrorInfo | undefined = error; current !== undefined && !seen.has(current) && chain.length < 20; current = current.cause) {
    seen.add(current);
    chain.push(current);
  }
  return (
    <ol className="error-chain" data-testid="error-chain">
      {chain.map((item, i) => (
        <li key={i}>
          {i > 0 && <span className="caused-by">caused by </span>}
          <strong className="mono">{item.name}</strong>: {item.message}
          {item.code !== undefined && (
            <>
              {" "}
              <code className="error-code">{item.code}</code>
            </>
          )}
          {item.stack !== undefined && (
            <details className="stack">
              <summary>Stack trace</summary>
              <pre>{item.stack}</pre>
            </details>
          )}
        </li>
      ))}
    </ol>
  );
}
