import { useCallback, useEffect, useRef, useState, type DependencyList } from "react";
import { isAbort } from "./api";

export interface Polled<T> {
  data: T | undefined;
  error: unknown;
  /** True until the first answer (or failure) for the current deps. */
  loading: boolean;
  /** Poll now (after an action), then go on at the usual pace. */
  refresh: () => void;
}

/** A fixed pace, none (null), or a pace chosen from the latest answer (stop once a saga ended, say). */
export type Interval<T> = number | null | ((data: T) => number | null);

/**
 * Calls `fn` now and again `intervalMs` after each answer. Requests never overlap: the next
 * one is only scheduled once the previous settled, so a slow server slows the poll down instead
 * of piling requests up. Changing `deps` starts over (and drops answers for the old deps);
 * unmounting aborts the request in flight and stops.
 */
export function usePolling<T>(fn: (signal: AbortSignal) => Promise<T>, intervalMs: Interval<T>, deps: DependencyList): Polled<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  // The latest closures, read when a tick fires, so a re-render does not restart the loop.
  const fnRef = useRef(fn);
  const intervalRef = useRef(intervalMs);
  const kickRef = useRef<() => void>(() => undefined);
  useEffect(() => {
    fnRef.current = fn;
    intervalRef.current = intervalMs;
  });

  useEffect(() => {
    let stopped = false;
    let inFlight = false;
    let pendingKick = false;
    let timer: number | undefined;
    let controller: AbortController | undefined;
    setState({ data: undefined, error: undefined, loading: true });

    const tick = async (): Promise<void> => {
      if (stopped) return;
      if (inFlight) {
        pendingKick = true;
        return;
      }
      window.clearTimeout(timer);
      inFlight = true;
      controller = new AbortController();
      let next: number | null;
      try {
        const data = await fnRef.current(controller.signal);
        if (stopped) return;
        setState({ data, error: undefined, loading: false });
        const pace = intervalRef.current;
        next = typeof pace === "function" ? pace(data) : pace;
      } catch (error) {
        if (stopped || isAbort(error)) return;
        setState((previous) => ({ data: previous.data, error, loading: false }));
        const pace = intervalRef.current;
        // After a failure keep trying at the usual pace (or 5 s when the pace depends on data).
        next = typeof pace === "function" ? 5_000 : pace;
      } finally {
        inFlight = false;
      }
      if (stopped) return;
      if (pendingKick) {
        pendingKick = false;
        void tick();
      } else if (next !== null) {
        timer = window.setTimeout(() => void tick(), next);
      }
    };

    kickRef.current = () => void tick();
    void tick();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      controller?.abort();
    };
  }, deps);

  const refresh = useCallback(() => kickRef.current(), []);
  return { ...state, refresh };
}
