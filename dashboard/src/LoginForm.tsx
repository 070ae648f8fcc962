import { useState, type FormEvent } from "react";
import { getToken, signIn } from "./api";

/** Shown after any 401: the server was started with a token and this tab has none (or a wrong one). */
export function LoginForm() {
  const [token, setToken] = useState("");
  const hadToken = getToken() !== null;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (token.trim() !== "") signIn(token.trim());
  };
  return (
    <section className="login" aria-labelledby="login-heading">
      <h1 id="login-heading">Sign in</h1>
      <p>{hadToken ? "The server refused the token this tab holds." : "This server requires an API token."} Enter the token it was started with (--token or SAGAFLOW_TOKEN).</p>
      <form onSubmit={submit} data-testid="login-form">
        <label className="field">
          <span>API token</span>
          <input name="token" type="password" autoComplete="current-password" value={token} onChange={(e) => setToken(e.target.value)} autoFocus required />
        </label>
        <button type="submit" className="primary">
          Sign in
        </button>
      </form>
      <p className="muted small">The token is kept in this tab's session storage only, until you sign out or close the tab.</p>
    </section>
  );
}
