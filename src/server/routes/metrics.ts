import type { FastifyPluginCallback } from "fastify";
import type { Registry } from "prom-client";

/** `/metrics`: the Prometheus text format. Open like the probes: counts and latencies, no saga data. */
export const metricsRoute: FastifyPluginCallback<{ registry: Registry }> = (app, { registry }, done) => {
  app.get("/metrics", { schema: { tags: ["probes"], summary: "Prometheus metrics", produces: ["text/plain"] } }, async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
  done();
};
