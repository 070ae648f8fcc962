import type pg from "pg";

/**
 * Checks a client out of `pool` with `onError` already listening when the caller gets it.
 *
 * `await pool.connect()` leaves a gap: pg-pool drops its own 'error' listener when it hands the
 * client out, and the caller's continuation runs only after the current socket chunk is parsed.
 * A server that terminates the backend just as it finishes connecting (pg_terminate_backend, a
 * restart) sends its FATAL message in that same chunk, and the 'error' event, heard by no one,
 * ends the process. The callback form runs synchronously at hand-out, so the listener is there.
 */
export function checkoutWithErrorListener(pool: pg.Pool, onError: (error: Error) => void): Promise<pg.PoolClient> {
  return new Promise((resolve, reject) => {
    pool.connect((error, client) => {
      if (error !== undefined && error !== null) {
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      if (client === undefined) {
        reject(new Error("pg-pool handed out no client"));
        return;
      }
      client.on("error", onError);
      resolve(client);
    });
  });
}
