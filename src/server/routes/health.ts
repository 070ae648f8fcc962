import type { FastifyPluginCallback } from "fastify";
import type { Orchestrator } from "../../runtime/orchestrator.js";

const healthBody = {
  type: "object",
  required: ["status"],
  properties: { status: { type: "string" }, detail: { type: "string" } },
  additionalProperties: false,
} as const;

/** Reads an id no saga can have (the API refuses ids that start with '.'), so the answer is about the store, never about a saga. */
const PROBE_ID = ".readyz-probe";

/**
 * `/healthz` (the process answers) and `/readyz` (and its store does too). Both stay open when
 * the API needs a token, so they tell nothing about sagas.
 */
export const healthRoutes: FastifyPluginCallback<{ orchestrator: Orchestrator }> = (app, { orchestrator }, done) => {
  app.get("/healthz", { schema: { tags: ["probes"], summary: "Liveness", response: { 200: healthBody } } }, () => ({ status: "ok" }));

  app.get(
    "/readyz",
    { schema: { tags: ["probes"], summary: "Readiness: the store answers", response: { 200: healthBody, 503: healthBody } } },
    async (request, reply) => {
      try {
        await orchestrator.store.getInstance(PROBE_ID);
        return { status: "ready" };
      } catch (error) {
        request.log.warn({ err: error }, "readiness probe: the store did not answer");
        return reply.code(503).send({ status: "unavailable", detail: "the store did not answer" });
      }
    },
  );
  done();
};
