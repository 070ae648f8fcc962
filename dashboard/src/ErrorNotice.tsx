import { ApiError, errorMessage } from "./api";

/** A request that failed: the server's own words (the problem's detail) when it gave any. */
export function ErrorNotice({ error, what }: { error: unknown; what?: string }) {
  const prefix = what === undefined ? "" : `${what} could not be loaded: `;
  const status = error instanceof ApiError ? ` (${error.status}${error.code === undefined ? "" : ` ${error.code}`})` : "";
  return (
    <p className="notice notice-error" role="alert">
      {prefix}
      {errorMessage(error)}
      <span className="muted">{status}</span>
    </p>
  );
}
