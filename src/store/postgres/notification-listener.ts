import { Client, type ClientConfig } from "pg";
import { quoteIdentifier } from "./options.js";

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

/**
 * LISTENs on one channel over a dedicated connection (LISTEN is per session, so it cannot share
 * the pool) and calls `listener` for each notification. When the connection is lost it reconnects
 * with a doubling backoff and, once listening again, calls `listener` once: notifications sent
 * while it was away are gone, but the work they announced may still be waiting.
 */
export class NotificationListener {
  readonly #config: ClientConfig;
  readonly #channel: string;
  readonly #listener: () => void;
  #client: Client | undefined;
  /** Clients whose connection ended; one may end between LISTEN and being adopted. */
  readonly #dead = new WeakSet<Client>();
  #opening: Promise<unknown> = Promise.resolve();
  #retryTimer: NodeJS.Timeout | undefined;
  #retryMs = FIRST_RETRY_MS;
  #stopped = false;

  constructor(config: ClientConfig, channel: string, listener: () => void) {
    this.#config = config;
    this.#channel = channel;
    this.#listener = listener;
  }

  /** Connects and LISTENs; rejects (leaving nothing open) if that fails the first time. */
  async start(): Promise<void> {
    const opening = this.#open();
    this.#opening = opening.catch(() => undefined);
    this.#adopt(await opening);
  }

  /** Stops listening and closes the connection; no call to the listener follows. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    await this.#opening;
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) await endQuietly(client);
  }

  async #open(): Promise<Client> {
    const client = new Client(this.#config);
    client.on("notification", (message) => {
      if (message.channel === this.#channel && client === this.#client) this.#call();
    });
    // Also keeps a dying connection's 'error' from being thrown as an uncaught exception.
    client.on("error", () => this.#lost(client));
    client.on("end", () => this.#lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${quoteIdentifier(this.#channel)}`);
      return client;
    } catch (error) {
      await endQuietly(client);
      throw error;
    }
  }

  /** Makes a freshly opened client the current one, unless the listener stopped or the client already died. */
  #adopt(client: Client): void {
    if (this.#stopped) {
      void endQuietly(client);
      return;
    }
    this.#client = client;
    this.#retryMs = FIRST_RETRY_MS;
    if (this.#dead.has(client)) this.#lost(client);
  }

  #lost(client: Client): void {
    this.#dead.add(client);
    if (client !== this.#client) return;
    this.#client = undefined;
    void endQuietly(client);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      const opening = this.#open().then(
        (client) => {
          this.#adopt(client);
          if (this.#client === client) this.#call();
        },
        () => this.#scheduleReconnect(),
      );
      this.#opening = opening;
    }, this.#retryMs);
    // A process that is otherwise done should not stay alive just to reconnect.
    this.#retryTimer.unref();
    this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
  }

  #call(): void {
    if (this.#stopped) return;
    try {
      this.#listener();
    } catch {
      // A listener's bug must not stop the notifications; the worker also polls.
    }
  }
}

async function endQuietly(client: Client): Promise<void> {
  try {
    await client.end();
  } catch {
    // Already broken: nothing left to close.
  }
}
