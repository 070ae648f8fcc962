import type { HistoryEntry } from "../../domain/history.js";
import type { SagaState } from "../../domain/state.js";
import type { InboxMessage, InstanceRecord } from "../saga-store.js";
import type { DueSlot } from "./due-index.js";

/** One instance as the memory store holds it while it may still change: the same columns the SQL adapters keep. */
export interface StoredInstance extends InstanceRecord {
  /** The scheduling time, which a delivery pulls forward without touching the engine's `state.wakeAtMs`. */
  wakeAtMs: number | null;
  /** History entries as the writers gave them (numbered by position from 1)… */
  history: HistoryEntry[];
  /** …and who wrote each one (null: written without a lease); commits of one claim share one object. */
  writers: Array<Writer | null>;
  inbox: InboxMessage[];
  /** Its place in the due index (the same object until the instance moves to another definition version). */
  slot: DueSlot;
}

/**
 * A new live instance (no history, inbox or messages applied yet) as a class, its history and
 * writers made by `new Array`: no object or array literal, so no allocation site V8 could
 * pretenure. A literal's site is pretenured once nearly
 * all the objects it made outlive a young-generation collection, and at high concurrency every
 * instance in flight does: from then on instances, which die when their saga ends (archived or
 * forgotten), are allocated in the old generation and pile up there until a full collection. On
 * 2026-12-02, with the store forgetting ended sagas (`keepEnded: 0`) at C=512 in a process that
 * had already run sagas at that concurrency, that happened in about half of the runs: 75–114k
 * sagas/s with 31–39% of the time in garbage collection, against 146–178k and 17–21% with none of
 * these literals left (0 of 6 runs against 2 of 6).
 */
export class LiveInstance implements StoredInstance {
  inboxSeq = 0;
  inboxAppliedSeq = 0;
  // `new Array`, not `[]`: see the class comment.
  history: HistoryEntry[] = new Array<HistoryEntry>();
  writers: Array<Writer | null> = new Array<Writer | null>();
  inbox: InboxMessage[] = NO_MESSAGES;

  constructor(
    public state: SagaState,
    public epoch: number,
    public leaseOwner: string | null,
    public leaseExpiresAtMs: number | null,
    public wakeAtMs: number | null,
    public slot: DueSlot,
    /** `hashString` of its id: the ended-saga archive files it by that. */
    readonly idHash: number,
  ) {}
}

/** The worker and epoch that wrote history entries. */
export interface Writer {
  workerId: string;
  epoch: number;
}

/** The inbox of every instance that was never delivered to: one array for all (a delivery makes a new one). */
export const NO_MESSAGES: InboxMessage[] = Object.freeze([]) as unknown as InboxMessage[];
