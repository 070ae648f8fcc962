import type { AddressInfo } from "node:net";
import { openParticipantApp, type ParticipantAppOptions } from "./participant-app.js";
import type { ParticipantServiceName } from "./service-name.js";

/** Where to serve a service: ParticipantAppOptions plus the port. */
export interface StartParticipantServiceOptions extends ParticipantAppOptions {
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one, which `url` then names. */
  port?: number;
}

/** A running service. */
export interface RunningParticipantService {
  service: ParticipantServiceName;
  /** `http://127.0.0.1:<port>`, with the port actually bound. */
  url: string;
  port: number;
  /** Stops accepting, lets in-flight calls finish, then closes the database. */
  close(): Promise<void>;
}

/**
 * Serves one example participant over HTTP on 127.0.0.1, in this process: what main.ts runs, and
 * what tests or a launcher use to have the three services without child processes.
 *
 * @example
 * const payments = await startParticipantService({ service: "payments", dbPath: "payments.db" });
 * await fetch(`${payments.url}/payments`, { method: "POST", headers: { "content-type": "application/json", "idempotency-key": "s1:ReservePayment" }, body: JSON.stringify(order) });
 * await payments.close();
 */
export async function startParticipantService(options: StartParticipantServiceOptions): Promise<RunningParticipantService> {
  const { port = 0, ...appOptions } = options;
  const app = await openParticipantApp(appOptions);
  try {
    await app.listen({ host: "127.0.0.1", port });
  } catch (error) {
    await app.close();
    throw error;
  }
  const bound = (app.server.address() as AddressInfo).port;
  return { service: options.service, url: `http://127.0.0.1:${bound}`, port: bound, close: () => app.close() };
}
