import { EventEmitter } from "node:events";
import type pg from "pg";
import { describe, expect, it } from "vitest";
import { checkoutWithErrorListener } from "../../src/store/postgres/pool-checkout.js";

/**
 * Regression: a backend terminated just as its connection was handed out sent its FATAL message in
 * the same socket chunk, before `await pool.connect()` resumed and attached a listener, and the
 * unheard 'error' event ended the worker process (seen in the connection-loss test).
 */
describe("checkoutWithErrorListener", () => {
  it("is listening for 'error' before the pool's hand-out returns, so a dying connection cannot crash the process", async () => {
    const client = new EventEmitter();
    const pool = {
      connect(callback: (error: Error | undefined, client: unknown) => void): void {
        callback(undefined, client);
        // The same tick as the hand-out: what pg does when the FATAL follows ReadyForQuery in one chunk.
        client.emit("error", new Error("terminating connection due to administrator command"));
      },
    } as unknown as pg.Pool;
    const heard: string[] = [];
    const handedOut = await checkoutWithErrorListener(pool, (error) => heard.push(error.message));
    expect(handedOut).toBe(client);
    expect(heard).toEqual(["terminating connection due to administrator command"]);
  });

  it("rejects with the pool's error when no connection can be had", async () => {
    const pool = {
      connect(callback: (error: Error) => void): void {
        callback(new Error("connect ECONNREFUSED 127.0.0.1:1"));
      },
    } as unknown as pg.Pool;
    await expect(checkoutWithErrorListener(pool, () => undefined)).rejects.toThrow("ECONNREFUSED");
  });
});
