// Typed access to the Sagaflow REST API (/api/v1), the only way the dashboard reaches the server.
// The JSON's shapes are the library's own types (type-only imports: nothing of the library is
// bundled), so the dashboard cannot drift from what the server sends.
import type { ErrorInfo } from "../../src/domain/error-info.js";
import type { StoredHistoryEntry } from "../../src/domain/history.js";
import type { JsonValue } from "../../src/domain/json.js";
import type { Outstanding, PhaseState, ReceivedSignal, SagaState, StepState, StopReason } from "../../src/domain/state.js";
import type { Phase, PhaseStatus, SagaStatus } from "../../src/domain/status.js";
import type { ActivityBucket } from "../../src/store/saga-store.js";

export type { ActivityBucket, ErrorInfo, JsonValue, Outstanding, Phase, PhaseState, PhaseStatus, ReceivedSignal, SagaState, SagaStatus, StepState, StopReason, StoredHistoryEntry };
export type HistoryEntry = StoredHistoryEntry;

export const SAGA_STATUSES: readonly SagaStatus[] = ["running", "compensating", "completed", "compensated", "failed"];
export const TERMINAL_STATUSES: readonly SagaStatus[] = ["completed", "compensated", "failed"];

export interface RetryPolicy {
  maxAttempts: number;
  initialDelayMs: number;
  multiplier: number;
  maxDelayMs: number;
  jitter: "full" | "none";
  terminalErrors: string[];
}

export interface StepDefinition {
  name: string;
  pivot: boolean;
  hasCompensation: boolean;
  compensateOnFailure?: boolean;
  wait?: boolean;
  /** A waiting step answered by this named event. */
  event?: string;
  /** A durable timer: sleeps for a duration from its start, or until a time its definition computes. */
  sleep?: { kind: "duration"; durationMs: number } | { kind: "until" };
  /**
   * Set on every step of a parallel group: consecutive steps that start together. `onFailure`: when
   * one fails for good, `wait` lets the siblings in flight finish, `cancel` aborts their attempts.
   */
  group?: StepGroup;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  compensationRetry?: Partial<RetryPolicy>;
  compensationTimeoutMs?: number;
}

export interface StepGroup {
  name: string;
  onFailure: "wait" | "cancel";
}

export interface Definition {
  name: string;
  version: number;
  maxRecoveries?: number;
  steps: StepDefinition[];
}

export interface Stats {
  counts: Record<SagaStatus, number>;
  activity: { fromMs: number; toMs: number; bucketMs: number; buckets: ActivityBucket[] };
  /** Unfinished sagas by definition version, and whether the server runs that version. */
  versions: Array<{ definition: string; version: number; unfinished: number; runsHere: boolean }>;
}

export interface SagaPage {
  items: SagaState[];
  nextCursor: string | null;
}

export interface SagaQuery {
  statuses?: readonly SagaStatus[];
  definition?: string;
  createdFrom?: Date;
  createdTo?: Date;
  limit?: number;
  cursor?: string | null;
}

/** What an operator sends with a cancel or a retry; both are recorded in the saga's history. */
export interface OperatorRequest {
  reason?: string;
  by: string;
}

/** What an operator sends with a skip or a resolve: unlike a cancel's, the reason is required (400 without one). */
export interface RepairRequest {
  reason: string;
  by: string;
}

/** Who the dashboard says asked, in the saga's history. */
export const DASHBOARD_ACTOR = "dashboard";

/** A refused or failed request, carrying the problem document's fields when the server sent one. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  readonly code: string | undefined;
  readonly detail: string;
  readonly field: string | undefined;

  constructor(status: number, detail: string, code?: string, field?: string) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.code = code;
    this.field = field;
  }
}

// --- Authentication -------------------------------------------------------------------------
// The token lives in sessionStorage so it dies with the tab; the flag below is what the app
// subscribes to (useSyncExternalStore) to swap the page for the sign-in form after any 401.

const TOKEN_KEY = "sagaflow.token";
let signInRequired = false;
const authListeners = new Set<() => void>();

function notifyAuth(): void {
  for (const listener of authListeners) listener();
}

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function signIn(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
  signInRequired = false;
  notifyAuth();
}

export function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  notifyAuth();
}

export function isSignInRequired(): boolean {
  return signInRequired;
}

export function subscribeAuth(listener: () => void): () => void {
  authListeners.add(listener);
  return () => authListeners.delete(listener);
}

// --- Requests -------------------------------------------------------------------------------

/**
 * The API lives next to the page (`<page dir>/api/v1/`), not at the origin's root: a reverse proxy
 * may mount the whole server under a prefix, and the page's own path is the only hint of it.
 */
export function apiUrl(path: string, query?: URLSearchParams): string {
  const directory = location.pathname.endsWith("/") ? location.pathname : location.pathname.replace(/[^/]*$/, "");
  const url = new URL(`${directory}api/v1/${path}`, location.origin);
  if (query !== undefined) url.search = query.toString();
  return url.toString();
}

interface RequestOptions {
  method?: "GET" | "POST";
  body?: unknown;
  query?: URLSearchParams;
  signal?: AbortSignal | undefined;
}

async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json, application/problem+json" };
  const token = getToken();
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(apiUrl(path, options.query), {
    method: options.method ?? "GET",
    headers,
    body: options.body === undefined ? null : JSON.stringify(options.body),
    signal: options.signal ?? null,
    cache: "no-store",
  });
  if (response.status === 401) {
    signInRequired = true;
    notifyAuth();
  }
  if (!response.ok) throw await toApiError(response);
  return (await response.json()) as T;
}

async function toApiError(response: Response): Promise<ApiError> {
  let problem: { detail?: unknown; title?: unknown; code?: unknown; field?: unknown } = {};
  try {
    problem = (await response.json()) as typeof problem;
  } catch {
    // Not a problem document (a proxy's HTML page, say): the status line is all there is.
  }
  const detail =
    typeof problem.detail === "string" && problem.detail !== ""
      ? problem.detail
      : typeof problem.title === "string"
        ? problem.title
        : `${response.status} ${response.statusText}`.trim();
  return new ApiError(
    response.status,
    detail,
    typeof problem.code === "string" ? problem.code : undefined,
    typeof problem.field === "string" ? problem.field : undefined,
  );
}

/** The text to show for anything a request threw. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.detail;
  if (error instanceof TypeError) return `The server could not be reached (${error.message}).`;
  return error instanceof Error ? error.message : String(error);
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

// --- Endpoints ------------------------------------------------------------------------------

export function getStats(windowMs: number, bucketMs: number, signal?: AbortSignal): Promise<Stats> {
  const query = new URLSearchParams({ windowMs: String(windowMs), bucketMs: String(bucketMs) });
  return request<Stats>("stats", { query, signal });
}

export function listSagas(options: SagaQuery, signal?: AbortSignal): Promise<SagaPage> {
  const query = new URLSearchParams();
  for (const status of options.statuses ?? []) query.append("status", status);
  if (options.definition !== undefined) query.set("definition", options.definition);
  if (options.createdFrom !== undefined) query.set("createdFrom", options.createdFrom.toISOString());
  if (options.createdTo !== undefined) query.set("createdTo", options.createdTo.toISOString());
  if (options.limit !== undefined) query.set("limit", String(options.limit));
  if (options.cursor != null) query.set("cursor", options.cursor);
  return request<SagaPage>("sagas", { query, signal });
}

/** The saga started with this idempotency key, if any. */
export async function findSagaByIdempotencyKey(key: string, signal?: AbortSignal): Promise<SagaState | null> {
  const query = new URLSearchParams({ idempotencyKey: key, limit: "1" });
  const page = await request<SagaPage>("sagas", { query, signal });
  // Checked here as well: a server that does not know the parameter yet would list everything.
  return page.items.find((saga) => saga.idempotencyKey === key) ?? null;
}

export function getSaga(id: string, signal?: AbortSignal): Promise<SagaState> {
  return request<SagaState>(`sagas/${encodeURIComponent(id)}`, { signal });
}

export async function getHistory(id: string, signal?: AbortSignal): Promise<StoredHistoryEntry[]> {
  const page = await request<{ items: StoredHistoryEntry[] }>(`sagas/${encodeURIComponent(id)}/history`, { signal });
  return page.items;
}

export function cancelSaga(id: string, body: OperatorRequest): Promise<SagaState> {
  return request<SagaState>(`sagas/${encodeURIComponent(id)}/cancel`, { method: "POST", body });
}

export function retrySaga(id: string, body: OperatorRequest): Promise<SagaState> {
  return request<SagaState>(`sagas/${encodeURIComponent(id)}/retry`, { method: "POST", body });
}

/**
 * Count one outstanding compensation of a `failed` saga as settled by hand: the compensations after
 * it then run. 409 `REPAIR_NOT_ALLOWED` when the saga is not failed or that compensation is not outstanding.
 */
export function skipCompensation(id: string, step: string, reason: string): Promise<SagaState> {
  const body: RepairRequest = { reason, by: DASHBOARD_ACTOR };
  return request<SagaState>(`sagas/${encodeURIComponent(id)}/steps/${encodeURIComponent(step)}/skip-compensation`, { method: "POST", body });
}

/** Mark a `failed` saga resolved: it stays failed, with who settled it and why. 409 when not failed or resolved already. */
export function resolveSaga(id: string, reason: string): Promise<SagaState> {
  const body: RepairRequest = { reason, by: DASHBOARD_ACTOR };
  return request<SagaState>(`sagas/${encodeURIComponent(id)}/resolve`, { method: "POST", body });
}

export async function listDefinitions(signal?: AbortSignal): Promise<Definition[]> {
  const list = await request<{ items: Definition[] }>("definitions", { signal });
  return list.items;
}
