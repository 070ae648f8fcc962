import type { FastifyPluginCallback } from "fastify";
import type { Orchestrator } from "../../runtime/orchestrator.js";
import type { DefinitionCatalog } from "../definition-catalog.js";
import { definitionList, problems, savedDefinition } from "../schemas.js";

/** Media types a definition document may be sent as; the text is parsed by the catalog, which knows lines. */
const YAML_TYPES = ["application/yaml", "application/x-yaml", "text/yaml"];

/** `/definitions`: what this server can run, for clients and the dashboard to draw; with a catalog, registering declarative ones. */
export const definitionRoutes: FastifyPluginCallback<{ orchestrator: Orchestrator; catalog?: DefinitionCatalog | undefined }> = (app, { orchestrator, catalog }, done) => {
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
            ...(step.event === undefined ? {} : { event: step.event }),
            ...(step.sleep === undefined ? {} : { sleep: step.sleep }),
            ...(step.group === undefined ? {} : { group: step.group }),
            retry: step.retry,
            timeoutMs: step.timeoutMs,
            compensationRetry: step.compensationRetry,
            compensationTimeoutMs: step.compensationTimeoutMs,
          })),
        }))
        .sort((a, b) => (a.name === b.name ? a.version - b.version : a.name < b.name ? -1 : 1)),
    }),
  );
  if (catalog !== undefined) {
    // Only within this plugin: the document's own text reaches the handler, so errors can point at its lines.
    app.addContentTypeParser(["application/json", ...YAML_TYPES], { parseAs: "string" }, (_request, body, next) => next(null, body));
    app.put<{ Params: { name: string }; Body: string }>(
      "/definitions/:name",
      {
        schema: {
          tags: ["definitions"],
          summary: "Register a declarative saga definition",
          description:
            "Saves a saga definition written as JSON (application/json) or YAML (application/yaml), validated against the published " +
            "JSON Schema (docs/declarative-sagas.md), and runs it on every server of the fleet. 201 the first time, 200 when the same " +
            "document is sent again, 409 when its name@version already holds another: a saved version never changes, so running " +
            "instances finish on the version they started with and new ones use the newest. A 400 lists every issue with its line.",
          params: { type: "object", required: ["name"], properties: { name: { type: "string", minLength: 1, maxLength: 200 } }, additionalProperties: false },
          consumes: ["application/json", ...YAML_TYPES],
          response: {
            201: { ...savedDefinition, description: "saved and registered" },
            200: { ...savedDefinition, description: "this document was already saved under its name@version" },
            ...problems(400, 401, 409, 413, 415, 503),
          },
        },
      },
      async (request, reply) => {
        const type = String(request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
        const outcome = await catalog.put({ text: request.body, format: YAML_TYPES.includes(type) ? "yaml" : "json", source: `PUT ${request.url}` }, request.params.name);
        const { name, version, hash, createdAtMs } = outcome.definition;
        return reply.code(outcome.status === "created" ? 201 : 200).send({ name, version, hash, createdAtMs });
      },
    );
  }
  done();
};
