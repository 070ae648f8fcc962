/** What a driver and its steps read to learn that they must stop (shutdown, lease lost). */
export interface AbortSource {
  readonly aborted: boolean;
  /** An `AbortSignal` that is aborted now or later, when this source is. */
  readonly signal: AbortSignal;
}

/**
 * An abort whose `AbortSignal` is made only when someone asks for it: most sagas are never
 * aborted and most steps never look at their signal, so a controller per saga would be waste.
 */
export class LazyAbort implements AbortSource {
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  get aborted(): boolean {
    return this.#aborted;
  }

  get signal(): AbortSignal {
    this.#controller ??= new AbortController();
    if (this.#aborted && !this.#controller.signal.aborted) this.#controller.abort(this.#reason);
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

/**
 * An abort of its own that also follows a parent's: one attempt of a parallel group can be
 * aborted (a sibling failed for good) without aborting the saga's other attempts.
 */
export class LinkedAbort implements AbortSource {
  readonly #parent: AbortSource;
  readonly #own = new LazyAbort();
  #linked = false;

  constructor(parent: AbortSource) {
    this.#parent = parent;
  }

  get aborted(): boolean {
    return this.#own.aborted || this.#parent.aborted;
  }

  get signal(): AbortSignal {
    const signal = this.#own.signal;
    if (!this.#linked) {
      this.#linked = true;
      const parent = this.#parent.signal;
      if (parent.aborted) this.#own.abort(parent.reason);
      else parent.addEventListener("abort", () => this.#own.abort(parent.reason), { once: true });
    }
    return signal;
  }

  abort(reason: unknown): void {
    this.#own.abort(reason);
  }
}
