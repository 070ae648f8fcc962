import { useEffect, useState, useSyncExternalStore, type MouseEvent } from "react";
import { getToken, isSignInRequired, signOut, subscribeAuth } from "./api";
import { Definitions } from "./Definitions";
import { LoginForm } from "./LoginForm";
import { Overview } from "./Overview";
import { useRoute, type Route } from "./router";
import { SagaDetail } from "./SagaDetail";
import { SagaList } from "./SagaList";

const NAV = [
  { href: "#/", label: "Overview", pages: ["overview"] },
  { href: "#/sagas", label: "Sagas", pages: ["sagas", "saga"] },
  { href: "#/definitions", label: "Definitions", pages: ["definitions"] },
] as const;

function useAuth(): { required: boolean; token: string | null } {
  const required = useSyncExternalStore(subscribeAuth, isSignInRequired);
  const token = useSyncExternalStore(subscribeAuth, getToken);
  return { required, token };
}

export function App() {
  const route = useRoute();
  const auth = useAuth();
  // Bumped on sign-in and sign-out, so the page remounts and asks the server again at once.
  const [session, setSession] = useState(0);
  useEffect(() => subscribeAuth(() => setSession((n) => n + 1)), []);
  useEffect(() => {
    document.title = `${titleOf(route)} · Sagaflow`;
  }, [route]);

  return (
    <>
      <a className="skip-link" href="#main" onClick={skipToMain}>
        Skip to content
      </a>
      <header className="top">
        <div className="brand">
          <svg width="22" height="22" viewBox="0 0 22 22" aria-hidden="true">
            <path d="M3 7 H15 L12 4 M19 15 H7 L10 18" fill="none" stroke="currentColor" strokeWidth="2.2" strokeLinecap="round" strokeLinejoin="round" />
          </svg>
          <span>Sagaflow</span>
        </div>
        <nav aria-label="Main">
          <ul>
            {NAV.map((item) => (
              <li key={item.href}>
                <a href={item.href} aria-current={(item.pages as readonly string[]).includes(route.page) ? "page" : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        {auth.token !== null && (
          <button type="button" className="sign-out" onClick={signOut}>
            Sign out
          </button>
        )}
      </header>
      <main id="main" tabIndex={-1} key={session}>
        {auth.required ? <LoginForm /> : <Page route={route} />}
      </main>
    </>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "overview":
      return <Overview />;
    case "sagas":
      return <SagaList query={route.query} />;
    case "saga":
      return <SagaDetail key={route.id} id={route.id} />;
    case "definitions":
      return <Definitions />;
    case "not-found":
      return (
        <>
          <h1>Page not found</h1>
          <p>
            Nothing lives at <code>#{route.path}</code>. <a href="#/">Go to the overview</a>.
          </p>
        </>
      );
  }
}

function titleOf(route: Route): string {
  switch (route.page) {
    case "overview":
      return "Overview";
    case "sagas":
      return "Sagas";
    case "saga":
      return `Saga ${route.id}`;
    case "definitions":
      return "Definitions";
    case "not-found":
      return "Not found";
  }
}

/** The skip link must not change the hash: that is the router's. */
function skipToMain(event: MouseEvent) {
  event.preventDefault();
  document.getElementById("main")?.focus();
}
