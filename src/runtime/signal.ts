import { isTerminal } from "../domain/status.js";
import { InvalidArgumentError, SagaEndedError, SagaNotFoundError } from "../errors.js";
import type { SagaStore } from "../store/saga-store.js";
import { toJsonValue } from "./normalize-error.js";

/** Event names are simple names, like step names. */
const SIGNAL_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;
const MAX_SIGNAL_ID_LENGTH = 256;

export interface SignalOptions {
  /**
   * Names this delivery: a second one with the same id is a duplicate, recorded once. Default
   * the event's name, so each named event counts once per saga; give distinct ids for an event
   * that may legitimately come more than once.
   */
  id?: string;
  /** Who sent it, for the history. Default "api". */
  by?: string;
}

/** What `toJsonValue` names when it refuses a payload. */
const thePayloadOfEvent = (name: string): string => `the payload of event ${name}`;

/**
 * Puts a named event in a saga's inbox (see `Orchestrator.signal`); needs only the store, so a
 * process that runs no worker (the CLI) delivers events the same way. `duplicate: true` when the
 * saga already recorded a delivery with this id, and nothing was written.
 */
export async function deliverSignal(store: SagaStore, nowMs: number, sagaId: string, name: string, payload: unknown, options: SignalOptions = {}): Promise<{ duplicate: boolean }> {
  if (typeof name !== "string" || !SIGNAL_NAME_PATTERN.test(name)) {
    throw new InvalidArgumentError("name", `must be letters, digits, '_', '.' or '-' starting with a letter (at most 128 characters), got ${JSON.stringify(name)}`);
  }
  const id = options.id ?? name;
  if (typeof id !== "string" || id.length === 0 || id.length > MAX_SIGNAL_ID_LENGTH) {
    throw new InvalidArgumentError("id", `must be a string of 1 to ${MAX_SIGNAL_ID_LENGTH} characters, got ${JSON.stringify(id)}`);
  }
  const json = toJsonValue(payload, thePayloadOfEvent, name);
  const record = await store.getInstance(sagaId);
  if (record === null) throw new SagaNotFoundError(sagaId);
  // Seen already: a duplicate says so without a write. One that races this check is delivered,
  // and the engine records it once all the same.
  if (record.state.signals?.some((signal) => signal.id === id) === true) return { duplicate: true };
  if (isTerminal(record.state.status)) throw new SagaEndedError(sagaId, record.state.status, `event ${name}`);
  const outcome = await store.deliver(sagaId, { type: "signal_received", name, id, payload: json, by: options.by ?? "api" }, nowMs);
  if (!outcome.accepted) {
    if (outcome.reason === "not_found") throw new SagaNotFoundError(sagaId);
    throw new SagaEndedError(sagaId, outcome.status, `event ${name}`);
  }
  return { duplicate: false };
}
