import { Ajv } from "ajv";
import Fastify, { type FastifyInstance } from "fastify";
import { sendProblem, toProblem } from "../../server/problem.js";
import { openParticipantDb } from "../order/open-participant-db.js";
import type { ParticipantDb, ParticipantOptions } from "../order/participant-db.js";
import { inventoryRoutes } from "./inventory-routes.js";
import { paymentsRoutes } from "./payments-routes.js";
import { readServiceLedger } from "./service-ledger.js";
import { ParticipantServiceName } from "./service-name.js";
import { sendServiceError, serviceProblem } from "./service-problems.js";
import { shippingRoutes } from "./shipping-routes.js";

/** Which service to serve, from which file, and how it behaves. */
export interface ParticipantAppOptions {
  service: ParticipantServiceName;
  /** The service's own SQLite file; created, with its tables, when missing. */
  dbPath: string;
  /** Simulated latency before every state-changing call, in ms. Default 0. */
  stepDelayMs?: number;
  /** Where the participant's `[Payment] …` lines go; nothing is printed without it. */
  log?: (line: string) => void;
}

const BODY_LIMIT_BYTES = 64 * 1024;

const ROUTES = {
  [ParticipantServiceName.Payments]: paymentsRoutes,
  [ParticipantServiceName.Inventory]: inventoryRoutes,
  [ParticipantServiceName.Shipping]: shippingRoutes,
} as const;

/**
 * Opens the service's SQLite file (WAL, synchronous FULL) and builds its Fastify app, ready for
 * `inject` or `listen`. Closing the app closes the database.
 *
 * @example
 * const app = await openParticipantApp({ service: "inventory", dbPath: "inventory.db" });
 * const res = await app.inject({ method: "POST", url: "/reservations", headers: { "idempotency-key": "s1:ReserveInventory" }, payload: { orderId: "order-123", sku: "SKU-BOOK", quantity: 1 } });
 * await app.close();
 */
export async function openParticipantApp(options: ParticipantAppOptions): Promise<FastifyInstance> {
  const db = await openParticipantDb({ kind: "sqlite", path: options.dbPath });
  try {
    return await buildApp(db, options);
  } catch (error) {
    await db.close();
    throw error;
  }
}

async function buildApp(db: ParticipantDb, options: ParticipantAppOptions): Promise<FastifyInstance> {
  const { service, dbPath } = options;
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT_BYTES,
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    frameworkErrors: (error, request, reply) => {
      void sendProblem(reply, toProblem(error, request));
    },
  });
  app.addHook("onClose", () => db.close());
  // close() ends the connections idle at that moment; a keep-alive connection whose call is still
  // running would hold the close up until the client let go of it. Its answer says "close" instead.
  let closing = false;
  app.addHook("preClose", (done) => {
    closing = true;
    done();
  });
  app.addHook("onSend", (_request, reply, payload, done) => {
    if (closing) reply.header("connection", "close");
    done(null, payload);
  });

  // Bodies are checked as written: no coercion, no defaults filled in, unknown properties refused.
  const ajv = new Ajv({ allErrors: false, coerceTypes: false, useDefaults: false, removeAdditional: false, strict: false });
  app.setValidatorCompiler(({ schema }) => ajv.compile(schema));
  app.setErrorHandler(sendServiceError);
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, serviceProblem(404, "NOT_FOUND", `${service} has no route ${request.method} ${request.url.split("?")[0] ?? ""}`)),
  );

  app.get("/healthz", async (request, reply) => {
    try {
      await db.query("SELECT 1 AS ok");
      return { status: "ok", service };
    } catch (error) {
      request.log.warn({ err: error }, "health probe: the database did not answer");
      return reply.code(503).send({ status: "unavailable", service, detail: "the database did not answer" });
    }
  });
  app.get("/ledger", () => readServiceLedger(service, dbPath, db));

  const participant: ParticipantOptions = { stepDelayMs: options.stepDelayMs ?? 0, ...(options.log === undefined ? {} : { log: options.log }) };
  await app.register(ROUTES[service], { db, options: participant });
  await app.ready();
  return app;
}
