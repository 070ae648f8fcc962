import type { RunPhaseCommand } from "../domain/commands.js";
import type { SagaState } from "../domain/state.js";
import type { SagaDefinition } from "../dsl/define-saga.js";
import type { ClaimedInstance, CommitOutcome, SagaStore, TransitionCommit } from "../store/saga-store.js";
import { shapeOf } from "./plan-shape.js";
import { definitionKey } from "../store/saga-store.js";
import type { Clock } from "./clock.js";
import type { CommitCallback, CommitWatcher, GroupCommitter } from "./committer.js";
import { InPlaceMap } from "../collections/in-place-map.js";
import { LazyAbort } from "./lazy-abort.js";
import type { Logger } from "./logger.js";
import type { SagaEvent } from "../domain/events.js";
import { driveSaga, type AttemptWrapper, type DriverEnv, type DriverHandle, type DriverCrash, type DriverExit, type TransitionNotice } from "./saga-driver.js";

type AnyDefinition = SagaDefinition<unknown, Record<string, unknown>>;

export interface WorkerOptions {
  store: SagaStore;
  /** Where drivers send their commits (shared with the orchestrator's starts). */
  committer: GroupCommitter;
  definitions: ReadonlyMap<string, AnyDefinition>;
  workerId: string;
  concurrency: number;
  leaseMs: number;
  pollIntervalMs: number;
  clock: Clock;
  random: () => number;
  logger: Logger;
  onTransition: (notice: TransitionNotice) => void;
  wrapAttempt?: AttemptWrapper | undefined;
}

/**
 * A saga held here at one epoch. It is its driver's abort source too (one object per held saga,
 * not two): aborted when the lease is lost or the worker shuts down.
 */
class Active extends LazyAbort implements CommitWatcher {
  readonly epoch: number;
  /** Its driver (set as soon as it is spawned). */
  driver: DriverHandle | undefined;
  /** The latest lease expiry a claim, a create or a committed transition is known to have set; null when unknown. */
  leaseUntilMs: number | null;
  /** Whether a commit of this saga is being written now (a driver has at most one at a time). */
  committing = false;

  constructor(epoch: number, leaseUntilMs: number | null) {
    super();
    this.epoch = epoch;
    this.leaseUntilMs = leaseUntilMs;
  }

  /** Its commit's batch settled (`outcome` undefined: the write failed): no longer written, and a durable one extended the lease. */
  settled(commit: TransitionCommit, outcome: CommitOutcome | undefined): void {
    this.committing = false;
    if (outcome?.ok === true && commit.lease !== "release") this.leaseUntilMs = Math.max(this.leaseUntilMs ?? 0, commit.lease.expiresAtMs);
  }
}

/**
 * The imperative shell: claims due instances, drives each one (decide → commit → run),
 * renews leases while it works, and sleeps until the next wake-up, a local start, or a poll.
 */
export class Worker {
  readonly #o: WorkerOptions;
  readonly #committer: GroupCommitter;
  /** The sagas held here, by id: churns at every saga's start and end (see `InPlaceMap`). */
  readonly #active: InPlaceMap<Active>;
  #definitionKeys: string[];
  #reserved = 0;
  #running = false;
  #loopDone: Promise<void> = Promise.resolve();
  #wakeSleeper: (() => void) | undefined;
  /** A wake() that came while the loop was busy, so the next sleep must not wait. */
  #wakePending = false;
  /** Counts wake() calls, so a claim can tell whether one came while it ran. */
  #wakeSeq = 0;
  /**
   * Whether the store may hold due work this worker did not take: its last claim filled every free
   * slot, or a wake() came since. Only then does a freed slot call for another claim; otherwise a
   * saga ending here would cost a claim (a write transaction) that finds nothing.
   */
  #backlog = true;
  #heartbeat: NodeJS.Timeout | undefined;
  #idleWaiters: Array<() => void> = [];
  #unsubscribe: Promise<(() => Promise<void>) | undefined> = Promise.resolve(undefined);
  /** What every driver of this worker gets (one object, not one per saga). */
  readonly #env: DriverEnv;

  constructor(options: WorkerOptions) {
    this.#o = options;
    this.#committer = options.committer;
    this.#active = new InPlaceMap<Active>(options.concurrency);
    this.#env = {
      workerId: options.workerId,
      leaseMs: options.leaseMs,
      clock: options.clock,
      random: options.random,
      logger: options.logger,
      commit: (commit, callback, watcher) => this.#commit(commit, callback, watcher),
      notify: options.onTransition,
      released: (sagaId, epoch) => this.#free(sagaId, epoch),
      scheduleWake: (atMs) => this.#scheduleWake(atMs),
      finished: (sagaId, epoch, exit) => this.#finished(sagaId, epoch, exit),
      wrapAttempt: options.wrapAttempt,
    };
    this.#definitionKeys = [...options.definitions.values()].map((d) => definitionKey(d.name, d.version));
  }

  get activeCount(): number {
    return this.#active.size;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#heartbeat = setInterval(() => void this.#renewLeases(), Math.max(50, Math.floor(this.#o.leaseMs / 3)));
    this.#heartbeat.unref();
    // Stores that can tell us about work made due elsewhere (PostgreSQL LISTEN/NOTIFY) spare the poll.
    this.#unsubscribe = this.#o.store.subscribe
      ? this.#o.store.subscribe(() => this.wake()).catch((error: unknown) => {
          this.#o.logger.warn({ err: error }, "could not subscribe to store notifications; polling only");
          return undefined;
        })
      : Promise.resolve(undefined);
    this.#loopDone = this.#loop();
  }

  /** Wakes the claim loop now (a saga was started or delivered to locally). */
  /** The orchestrator registered a definition: claim its instances too, starting now. */
  definitionsChanged(): void {
    this.#definitionKeys = [...this.#o.definitions.values()].map((d) => definitionKey(d.name, d.version));
    this.wake();
  }

  wake(): void {
    this.#wakeSeq++;
    this.#backlog = true;
    if (this.#wakeSleeper) this.#wakeSleeper();
    else this.#wakePending = true;
  }

  /** Takes a capacity slot for a saga about to be created already claimed; false when full. */
  tryReserve(): boolean {
    if (!this.#running || this.#active.size + this.#reserved >= this.#o.concurrency) return false;
    this.#reserved++;
    return true;
  }

  unreserve(): void {
    this.#reserved = Math.max(0, this.#reserved - 1);
  }

  /** Drives a saga that was created already claimed by this worker (epoch 1), with its first commands committed. */
  adopt(definition: AnyDefinition, state: SagaState, epoch: number, commands: RunPhaseCommand[], leaseExpiresAtMs: number | null = null): void {
    this.unreserve();
    this.#spawn(definition, state, epoch, 0, [], commands, leaseExpiresAtMs);
  }

  /** Resolves once no saga is held here and the store has no unfinished saga left. */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.wake();
    });
  }

  /**
   * Stops claiming and lets the sagas held here run on for up to `graceMs` (to their end or
   * their next wait); then aborts what still runs and gives those leases back, so another
   * worker recovers them at once instead of after the lease time.
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.wake();
    await this.#loopDone;
    await (await this.#unsubscribe)?.();
    const all = Promise.all([...this.#active.values()].flatMap((a) => (a.driver === undefined ? [] : [a.driver.done])));
    const grace = new Promise<void>((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([all, grace]);
    for (const active of this.#active.values()) active.abort(new Error("worker shutting down"));
    await all;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
  }

  async #loop(): Promise<void> {
    while (this.#running) {
      const free = this.#o.concurrency - this.#active.size - this.#reserved;
      let claimed: ClaimedInstance[] = [];
      if (free > 0) {
        const wakeSeq = this.#wakeSeq;
        let claimFailed = false;
        try {
          claimed = await this.#o.store.claimDue({
            workerId: this.#o.workerId,
            nowMs: this.#o.clock.now(),
            leaseMs: this.#o.leaseMs,
            limit: free,
            definitions: this.#definitionKeys,
          });
        } catch (error) {
          claimFailed = true;
          this.#o.logger.error({ err: error, workerId: this.#o.workerId }, "claiming due sagas failed; retrying after the poll interval");
        }
        this.#backlog = claimFailed || claimed.length === free || this.#wakeSeq !== wakeSeq;
      } else {
        // Full: whatever became due meanwhile (a lease ran out, a poll's worth of work from
        // elsewhere) is unknown, so the next freed slot claims.
        this.#backlog = true;
      }
      for (const item of claimed) this.#spawnClaimed(item);
      if (free > 0 && claimed.length === free) continue;
      if (claimed.length === 0 && this.#active.size === 0 && this.#idleWaiters.length > 0) await this.#checkIdle();
      await this.#sleep(await this.#sleepMs(free > 0));
    }
  }

  async #checkIdle(): Promise<void> {
    try {
      const counts = await this.#o.store.countByStatus();
      if (counts.running + counts.compensating > 0 || this.#active.size > 0) return;
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const resolve of waiters) resolve();
    } catch (error) {
      this.#o.logger.error({ err: error }, "counting unfinished sagas failed");
    }
  }

  async #sleepMs(canClaim: boolean): Promise<number> {
    const poll = this.#o.pollIntervalMs;
    if (!canClaim) return poll;
    try {
      const next = await this.#o.store.nextWakeAtMs(this.#definitionKeys);
      if (next === null) return poll;
      return Math.min(poll, Math.max(5, next - this.#o.clock.now()));
    } catch {
      return poll;
    }
  }

  #sleep(ms: number): Promise<void> {
    if (this.#wakePending) {
      this.#wakePending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wakeSleeper = () => {
        this.#wakeSleeper = undefined;
        done();
      };
    });
  }

  #spawnClaimed(item: ClaimedInstance): void {
    const { record, inbox } = item;
    const definition = this.#o.definitions.get(definitionKey(record.state.definitionName, record.state.definitionVersion));
    if (definition === undefined) {
      // claimDue filters by definition, so this means a store bug; give the lease back untouched.
      this.#o.logger.error({ sagaId: record.state.id }, "claimed a saga of an unknown definition");
      void this.#o.store.releaseLease(this.#o.workerId, { sagaId: record.state.id, epoch: record.epoch });
      return;
    }
    const started = record.state.definitionHash;
    if (started !== undefined && started !== shapeOf(definition)) {
      // Same name@version, other steps: this worker's code is not the code the saga started with.
      // Run nothing and keep the lease until it runs out, so the saga waits (or a worker with the
      // right code takes it) instead of being driven by the wrong steps.
      this.#o.logger.error(
        { sagaId: record.state.id, definition: definitionKey(definition.name, definition.version), startedWithShape: started, workerShape: shapeOf(definition) },
        "not running a saga that started with another shape of its definition: deploy a new version for changed steps, and keep the old one until its sagas finish",
      );
      return;
    }
    const inboxSeq = inbox.reduce((max, message) => Math.max(max, message.seq), record.inboxAppliedSeq);
    const events: SagaEvent[] = [{ type: "claimed" }, ...inbox.map((m) => m.event)];
    // A waiting step's deadline is checked after the inbox: an answer delivered in time wins over
    // the timeout whose wake-up happens to be processed with it.
    if (record.state.steps.some((step) => step.action.deadlineAtMs !== undefined)) events.push({ type: "timer_fired" });
    this.#spawn(definition, record.state, record.epoch, inboxSeq, events, [], record.leaseExpiresAtMs);
  }

  #spawn(
    definition: AnyDefinition,
    state: SagaState,
    epoch: number,
    inboxSeq: number,
    events: Parameters<typeof driveSaga>[1]["events"],
    commands: RunPhaseCommand[],
    leaseUntilMs: number | null,
  ): void {
    const active = new Active(epoch, leaseUntilMs);
    this.#active.set(state.id, active);
    active.driver = driveSaga(this.#env, { definition, state, epoch, inboxSeq, events, commands, abort: active, watcher: active });
  }

  /**
   * The driver stopped: gives back a lease it still held (see `DriverExit`), or logs its crash,
   * then frees the slot. Called by the driver itself, so a held saga costs no reaction for it.
   */
  #finished(sagaId: string, epoch: number, exit: DriverExit | DriverCrash): Promise<void> | undefined {
    if (typeof exit === "object") {
      this.#driverCrashed(exit.crashed, sagaId, epoch);
      return undefined;
    }
    if (exit !== "held") {
      this.#free(sagaId, epoch);
      return undefined;
    }
    let released: Promise<unknown>;
    try {
      released = this.#o.store.releaseLease(this.#o.workerId, { sagaId, epoch });
    } catch (error) {
      this.#driverCrashed(error, sagaId, epoch);
      return undefined;
    }
    return released.then(
      () => this.#free(sagaId, epoch),
      (error: unknown) => this.#driverCrashed(error, sagaId, epoch),
    );
  }

  #driverCrashed(error: unknown, sagaId: string, epoch: number): void {
    this.#o.logger.error({ err: error, sagaId }, "saga driver crashed; leaving the saga to recovery");
    this.#free(sagaId, epoch);
  }

  /** The saga's driver is done with it (it returned, or its last commit gave the lease back): its slot is free. */
  #free(sagaId: string, epoch: number): void {
    if (this.#active.get(sagaId)?.epoch !== epoch) return;
    this.#active.delete(sagaId);
    // A freed slot matters only if work may be waiting for one, or someone waits for idleness.
    if (this.#backlog || this.#idleWaiters.length > 0) this.wake();
  }

  #scheduleWake(atMs: number): void {
    const delay = atMs - this.#o.clock.now();
    if (delay <= 0) {
      this.wake();
      return;
    }
    if (delay < this.#o.pollIntervalMs) setTimeout(() => this.wake(), delay).unref();
  }

  /**
   * Submits a driver's commit, noting while it is written and, once it is durable, the lease it
   * extended, so that renewals can leave that saga alone for a while (see `#renewLeases`). The
   * saga's `Active` hears of the outcome from the committer itself (see `Active.settled`).
   */
  #commit(commit: TransitionCommit, callback: CommitCallback, watcher: CommitWatcher | undefined): void {
    // The driver's own `Active` (see `#spawn`). Once another claim holds the saga, this one is no
    // longer in `#active`, and what it notes is read by nobody.
    if (watcher instanceof Active) watcher.committing = true;
    this.#committer.enqueue(commit, watcher, callback);
  }

  /**
   * Extends the leases held here that need it. A lease a claim, create or commit set less than a
   * sixth of `leaseMs` ago is left alone (the next heartbeat, a third of `leaseMs` later, still
   * has half of it left to renew in), and so is one whose saga has a commit being written and more
   * than two thirds of `leaseMs` left: that commit extends it, and renewing meanwhile would only
   * wait for the commit's row lock while holding the locks of every row before it, so that later
   * commits queue behind the renewal (the convoy that slowed recovery). Whatever is skipped is
   * renewed by a later heartbeat with at least a third of `leaseMs` to spare.
   */
  async #renewLeases(): Promise<void> {
    const now = this.#o.clock.now();
    const leaseMs = this.#o.leaseMs;
    const held = [...this.#active.entries()].filter(([, active]) => {
      const left = active.leaseUntilMs === null ? 0 : active.leaseUntilMs - now;
      return !(left >= (leaseMs * 5) / 6 || (active.committing && left >= (leaseMs * 2) / 3));
    });
    if (held.length === 0) return;
    try {
      const results = await this.#o.store.renewLeases(
        this.#o.workerId,
        held.map(([sagaId, active]) => ({ sagaId, epoch: active.epoch })),
        now + leaseMs,
        now,
      );
      results.forEach((ok, index) => {
        const entry = held[index];
        if (entry === undefined) return;
        if (ok) {
          entry[1].leaseUntilMs = Math.max(entry[1].leaseUntilMs ?? 0, now + leaseMs);
          return;
        }
        this.#o.logger.warn({ sagaId: entry[0], epoch: entry[1].epoch }, "lease lost; stopping work on this saga");
        entry[1].abort(new Error("lease lost"));
      });
    } catch (error) {
      this.#o.logger.error({ err: error }, "renewing leases failed");
    }
  }
}
