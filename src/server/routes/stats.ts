import type { FastifyPluginCallback } from "fastify";
import type { Orchestrator } from "../../runtime/orchestrator.js";
import { SAGA_STATUSES } from "../../domain/status.js";
import { definitionKey, MAX_ACTIVITY_BUCKETS } from "../../store/saga-store.js";
import { problem, sendProblem } from "../problem.js";
import { problems } from "../schemas.js";

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** A week: enough for any overview; the bucket limit keeps the answer small whatever the window. */
const MAX_WINDOW_MS = 7 * 24 * HOUR_MS;

const statsQuery = {
  type: "object",
  properties: {
    windowMs: { type: "integer", minimum: MINUTE_MS, maximum: MAX_WINDOW_MS, default: HOUR_MS, description: "how far back the activity goes. Default one hour" },
    bucketMs: { type: "integer", minimum: 1000, maximum: MAX_WINDOW_MS, default: MINUTE_MS, description: `one bucket's length. Default one minute; at most ${MAX_ACTIVITY_BUCKETS} buckets` },
  },
  additionalProperties: false,
} as const;

const countSchema = { type: "integer", minimum: 0 } as const;

const statsResponse = {
  type: "object",
  required: ["counts", "activity", "versions"],
  properties: {
    versions: {
      type: "array",
      description: "unfinished sagas (running or compensating) by definition version, and whether this server runs that version: one it does not run may have no worker at all, and its sagas wait",
      items: {
        type: "object",
        required: ["definition", "version", "unfinished", "runsHere"],
        properties: { definition: { type: "string" }, version: { type: "integer" }, unfinished: countSchema, runsHere: { type: "boolean" } },
        additionalProperties: false,
      },
    },
    counts: {
      type: "object",
      description: "instances in the store by status, across every worker",
      required: [...SAGA_STATUSES],
      properties: Object.fromEntries(SAGA_STATUSES.map((status) => [status, countSchema])),
      additionalProperties: false,
    },
    activity: {
      type: "object",
      required: ["fromMs", "toMs", "bucketMs", "buckets"],
      properties: {
        fromMs: { type: "integer" },
        toMs: { type: "integer", description: "the end of the current bucket: the last bucket is still filling" },
        bucketMs: { type: "integer" },
        buckets: {
          type: "array",
          description: "oldest first; started by creation time, the rest by the time the saga ended with that status",
          items: {
            type: "object",
            required: ["startMs", "started", "completed", "compensated", "failed"],
            properties: { startMs: { type: "integer" }, started: countSchema, completed: countSchema, compensated: countSchema, failed: countSchema },
            additionalProperties: false,
          },
        },
      },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
} as const;

/** `/stats`: counts by status and activity over time, for the dashboard's overview. */
export const statsRoutes: FastifyPluginCallback<{ orchestrator: Orchestrator; now?: () => number }> = (app, { orchestrator, now = Date.now }, done) => {
  app.get<{ Querystring: { windowMs: number; bucketMs: number } }>(
    "/stats",
    {
      schema: {
        tags: ["stats"],
        summary: "Counts and activity",
        description:
          "Instances by status, and sagas started, completed, compensated and failed per bucket over the window (default: the last hour by minute). Buckets are aligned to multiples of bucketMs, so the last one is the one now in progress.",
        querystring: statsQuery,
        response: { 200: statsResponse, ...problems(400, 401, 503) },
      },
    },
    async (request, reply) => {
      const { windowMs, bucketMs } = request.query;
      const buckets = Math.ceil(windowMs / bucketMs);
      if (buckets > MAX_ACTIVITY_BUCKETS) {
        return sendProblem(reply, problem(400, "VALIDATION_FAILED", `query.bucketMs makes ${buckets} buckets of the window; at most ${MAX_ACTIVITY_BUCKETS} are allowed`, "query.bucketMs"));
      }
      const toMs = (Math.floor(now() / bucketMs) + 1) * bucketMs;
      const fromMs = toMs - buckets * bucketMs;
      const [counts, activity, unfinished] = await Promise.all([
        orchestrator.store.countByStatus(),
        orchestrator.store.activity({ fromMs, toMs, bucketMs }),
        orchestrator.store.countUnfinishedByDefinition(),
      ]);
      const versions = unfinished.map((entry) => ({
        definition: entry.definitionName,
        version: entry.definitionVersion,
        unfinished: entry.count,
        runsHere: orchestrator.definitions.has(definitionKey(entry.definitionName, entry.definitionVersion)),
      }));
      return { counts, activity: { fromMs, toMs, bucketMs, buckets: activity }, versions };
    },
  );
  done();
};
