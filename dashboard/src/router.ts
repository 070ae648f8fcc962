import { useSyncExternalStore } from "react";

// Hash routing: the server only has to serve index.html once, whatever prefix it lives under,
// and a reload keeps the page and its filters.

export type Route =
  | { page: "overview" }
  | { page: "sagas"; query: URLSearchParams }
  | { page: "saga"; id: string }
  | { page: "definitions" }
  | { page: "not-found"; path: string };

/** Fired after a replaceState, which (unlike assigning location.hash) raises no hashchange. */
const REPLACED = "sagaflow:hash-replaced";

function subscribe(listener: () => void): () => void {
  window.addEventListener("hashchange", listener);
  window.addEventListener(REPLACED, listener);
  return () => {
    window.removeEventListener("hashchange", listener);
    window.removeEventListener(REPLACED, listener);
  };
}

function currentHash(): string {
  return location.hash;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, "");
  const [pathPart = "", queryPart = ""] = raw.split("?", 2);
  const path = pathPart === "" ? "/" : pathPart;
  if (path === "/") return { page: "overview" };
  if (path === "/sagas" || path === "/sagas/") return { page: "sagas", query: new URLSearchParams(queryPart) };
  if (path === "/definitions") return { page: "definitions" };
  const saga = /^\/sagas\/(.+)$/.exec(path);
  if (saga?.[1] !== undefined) return { page: "saga", id: safeDecode(saga[1]) };
  return { page: "not-found", path };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The current route, re-rendering on every hash change. */
export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, currentHash);
  return parseHash(hash);
}

export function sagaHref(id: string): string {
  return `#/sagas/${encodeURIComponent(id)}`;
}

/** Moves to `#<path>?<query>`; `replace` keeps the back button for real navigation, not every filter tweak. */
export function navigate(path: string, query?: URLSearchParams, options: { replace?: boolean } = {}): void {
  const search = query !== undefined && query.size > 0 ? `?${query.toString()}` : "";
  const hash = `#${path}${search}`;
  if (hash === location.hash) return;
  if (options.replace === true) {
    history.replaceState(history.state, "", hash);
    window.dispatchEvent(new Event(REPLACED));
  } else {
    location.hash = hash;
  }
}
