import { useEffect, useRef, useState, type FormEvent } from "react";
import { ApiError, findSagaByIdempotencyKey, getSaga, listDefinitions, listSagas, SAGA_STATUSES, type SagaState, type SagaStatus } from "./api";
import { ErrorNotice } from "./ErrorNotice";
import { formatDuration, formatTime } from "./format";
import { navigate, sagaHref } from "./router";
import { currentStepLabel, sagaDurationMs } from "./saga-model";
import { ResolvedTag, StatusBadge } from "./StatusBadge";
import { usePolling } from "./usePolling";

const PAGE_SIZE = 50;
const REFRESH_MS = 2_000;
const SEARCH_DEBOUNCE_MS = 400;

const RANGES = [
  { value: "all", label: "All time", ms: null },
  { value: "15m", label: "Last 15 min", ms: 15 * 60_000 },
  { value: "1h", label: "Last hour", ms: 60 * 60_000 },
  { value: "24h", label: "Last 24 h", ms: 24 * 60 * 60_000 },
] as const;
type Range = (typeof RANGES)[number]["value"];

/** The list's filters, kept in the hash query so a reload or a shared link shows the same list. */
interface Filters {
  status: SagaStatus | "all";
  definition: string;
  range: Range;
  q: string;
}

function readFilters(query: URLSearchParams): Filters {
  const status = query.get("status");
  const range = query.get("range");
  return {
    status: SAGA_STATUSES.find((s) => s === status) ?? "all",
    definition: query.get("definition") ?? "",
    range: RANGES.find((r) => r.value === range)?.value ?? "all",
    q: query.get("q")?.trim() ?? "",
  };
}

function writeFilters(filters: Filters): URLSearchParams {
  const query = new URLSearchParams();
  if (filters.status !== "all") query.set("status", filters.status);
  if (filters.definition !== "") query.set("definition", filters.definition);
  if (filters.range !== "all") query.set("range", filters.range);
  if (filters.q !== "") query.set("q", filters.q);
  return query;
}

export function SagaList({ query }: { query: URLSearchParams }) {
  const filters = readFilters(query);
  const update = (change: Partial<Filters>) => navigate("/sagas", writeFilters({ ...filters, ...change }), { replace: true });
  const filterKey = JSON.stringify(filters);

  return (
    <>
      <h1>Sagas</h1>
      <FilterBar filters={filters} onChange={update} />
      {filters.q === "" ? (
        // Keyed by the filters: a new filter starts again from the newest page.
        <PagedSagas key={filterKey} filters={filters} />
      ) : (
        <SearchResult key={filters.q} q={filters.q} onClear={() => update({ q: "" })} />
      )}
    </>
  );
}

function FilterBar({ filters, onChange }: { filters: Filters; onChange: (change: Partial<Filters>) => void }) {
  const definitions = usePolling((signal) => listDefinitions(signal), null, []);
  const names = [...new Set((definitions.data ?? []).map((d) => d.name))];
  if (filters.definition !== "" && !names.includes(filters.definition)) names.push(filters.definition);

  const [text, setText] = useState(filters.q);
  const debounce = useRef<number | undefined>(undefined);
  // The hash may change under us (back button, a count link): the box follows it.
  useEffect(() => setText((current) => (current.trim() === filters.q ? current : filters.q)), [filters.q]);
  useEffect(() => () => window.clearTimeout(debounce.current), []);

  const onSearchInput = (value: string) => {
    setText(value);
    window.clearTimeout(debounce.current);
    debounce.current = window.setTimeout(() => onChange({ q: value.trim() }), SEARCH_DEBOUNCE_MS);
  };
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    window.clearTimeout(debounce.current);
    onChange({ q: text.trim() });
  };

  return (
    <form className="filters" onSubmit={onSubmit} role="search" aria-label="Filter sagas">
      <label>
        <span>Status</span>
        <select id="status-filter" value={filters.status} onChange={(e) => onChange({ status: e.target.value as Filters["status"] })}>
          <option value="all">all</option>
          {SAGA_STATUSES.map((status) => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span>Definition</span>
        <select id="definition-filter" value={filters.definition} onChange={(e) => onChange({ definition: e.target.value })}>
          <option value="">all</option>
          {names.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </label>
      <label>
        <span>Started</span>
        <select id="range-filter" value={filters.range} onChange={(e) => onChange({ range: e.target.value as Range })}>
          {RANGES.map((range) => (
            <option key={range.value} value={range.value}>
              {range.label}
            </option>
          ))}
        </select>
      </label>
      <label className="search-field">
        <span>Id or idempotency key</span>
        <input id="search" type="search" value={text} placeholder="Find a saga…" autoComplete="off" spellCheck={false} onChange={(e) => onSearchInput(e.target.value)} />
      </label>
      <button type="submit">Search</button>
    </form>
  );
}

function PagedSagas({ filters }: { filters: Filters }) {
  // The cursors of the pages before this one, newest page first: "Newer" pops, "Older" pushes.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors.at(-1) ?? null;
  const page = usePolling(
    (signal) => {
      const range = RANGES.find((r) => r.value === filters.range)?.ms ?? null;
      return listSagas(
        {
          ...(filters.status === "all" ? {} : { statuses: [filters.status] }),
          ...(filters.definition === "" ? {} : { definition: filters.definition }),
          // Computed on every poll: the window slides with the clock.
          ...(range === null ? {} : { createdFrom: new Date(Date.now() - range) }),
          limit: PAGE_SIZE,
          cursor,
        },
        signal,
      );
    },
    REFRESH_MS,
    [cursor],
  );
  const nextCursor = page.data?.nextCursor ?? null;

  return (
    <>
      {page.error !== undefined && <ErrorNotice error={page.error} what="Sagas" />}
      {page.data === undefined ? (
        page.loading && <p className="muted">Loading sagas…</p>
      ) : (
        <SagaTable sagas={page.data.items} empty="No sagas match these filters." />
      )}
      <nav className="pager" aria-label="Pages">
        <button type="button" onClick={() => setCursors((stack) => stack.slice(0, -1))} disabled={cursors.length <= 1}>
          Newer
        </button>
        <span className="muted">Page {cursors.length}</span>
        <button type="button" onClick={() => nextCursor !== null && setCursors((stack) => [...stack, nextCursor])} disabled={nextCursor === null}>
          Older
        </button>
        <span className="muted live-note">Live: refreshed every {REFRESH_MS / 1000} s</span>
      </nav>
    </>
  );
}

function SearchResult({ q, onClear }: { q: string; onClear: () => void }) {
  // The key first: its lookup is a list that answers 200 whether or not it matches, so a search
  // by key never logs a failed request; only text that is no key is tried as an id.
  const result = usePolling(
    async (signal) => {
      const byKey = await findSagaByIdempotencyKey(q, signal);
      if (byKey !== null) return byKey;
      try {
        return await getSaga(q, signal);
      } catch (error) {
        // 400: not even shaped like an id; 404: no such id. Either way nothing matches.
        if (error instanceof ApiError && (error.status === 404 || error.status === 400)) return null;
        throw error;
      }
    },
    REFRESH_MS,
    [q],
  );
  return (
    <>
      <p className="search-note">
        Showing the saga whose id or idempotency key is <q className="mono">{q}</q>.{" "}
        <button type="button" className="link-button" onClick={onClear}>
          Clear search
        </button>
      </p>
      {result.error !== undefined && <ErrorNotice error={result.error} what="The search" />}
      {result.data === undefined ? (
        result.loading && <p className="muted">Searching…</p>
      ) : (
        <SagaTable sagas={result.data === null ? [] : [result.data]} empty={`No saga has the id or idempotency key “${q}”.`} />
      )}
    </>
  );
}

function SagaTable({ sagas, empty }: { sagas: SagaState[]; empty: string }) {
  const now = Date.now();
  if (sagas.length === 0) return <p className="empty" data-testid="empty">{empty}</p>;
  return (
    <div className="table-wrap">
      <table className="sagas" data-testid="saga-table">
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">Status</th>
            <th scope="col">Definition</th>
            <th scope="col">Started</th>
            <th scope="col">Duration</th>
            <th scope="col">Current step</th>
          </tr>
        </thead>
        <tbody>
          {sagas.map((saga) => (
            <tr key={saga.id} data-saga-id={saga.id}>
              <td>
                <a href={sagaHref(saga.id)} className="mono">
                  {saga.id}
                </a>
                {saga.idempotencyKey !== null && <div className="muted small mono">key {saga.idempotencyKey}</div>}
              </td>
              <td>
                <StatusBadge status={saga.status} />
                {saga.status === "failed" && saga.resolution !== undefined && (
                  <>
                    {" "}
                    <ResolvedTag resolution={saga.resolution} />
                  </>
                )}
              </td>
              <td data-testid="definition">
                {saga.definitionName}@{saga.definitionVersion}
              </td>
              <td>
                <time dateTime={new Date(saga.createdAtMs).toISOString()}>{formatTime(saga.createdAtMs)}</time>
              </td>
              <td data-testid="duration">{formatDuration(sagaDurationMs(saga, now))}</td>
              <td data-testid="current-step">{currentStepLabel(saga)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
