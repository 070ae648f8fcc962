import type { FastifyPluginCallback } from "fastify";
import type { Orchestrator } from "../../runtime/orchestrator.js";
import { definitionList, problems } from "../schemas.js";

/** `/definitions`: what this server can run, for clients and the dashboard to draw. */
export const definitionRoutes: FastifyPluginCallback<{ orchestrator: Orchestrator }> = (app, { orchestrator }, done) => {
  app.get(
    "/definitions",
    {
      schema: {
        tags: ["definitions"],
        summary: "List saga definitions",
        description: "Every definition and version this server runs, by name then version, with each step's retry and timeout policy.",
        response: { 200: definitionList, ...problems(401) },
      },
    },
    () => ({
      items: [...orchestrator.definitions.values()]
        .map(({ plan }) => ({
          name: plan.name,
          version: plan.version,
          maxRecoveries: plan.maxRecoveries,
          steps: plan.steps.map((step) => ({
            name: step.name,
            pivot: step.pivot,
            hasCompensation: step.hasCompensation,
            compensateOnFailure: step.compensateOnFailure,
            wait: step.wait === true,
            retry: step.retry,
            timeoutMs: step.timeoutMs,
            compensationRetry: step.compensationRetry,
            compensationTimeoutMs: step.compensationTimeoutMs,
          })),
        }))
        .sort((a, b) => (a.name === b.name ? a.version - b.version : a.name < b.name ? -1 : 1)),
    }),
  );
  done();
};
