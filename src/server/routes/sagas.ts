import type { FastifyPluginCallback } from "fastify";
import { InvalidArgumentError, UnknownDefinitionError } from "../../errors.js";
import type { SagaStatus } from "../../domain/status.js";
import { definitionKey } from "../../store/saga-store.js";
import type { Orchestrator } from "../../runtime/orchestrator.js";
import { decodeListCursor } from "../../store/list-cursor.js";
import { problem, sendProblem } from "../problem.js";
import { cancelBody, completeBody, failBody, historyPage, listQuery, migrateBody, problems, ref, repairBody, sagaIdParams, sagaPage, signalBody, signalParams, startBody, stepParams } from "../schemas.js";

interface StartBody {
  definition: string;
  version?: number;
  input?: unknown;
  idempotencyKey?: string;
  id?: string;
  deadlineMs?: number;
}

interface ListQueryString {
  status?: string[];
  definition?: string;
  createdFrom?: string;
  createdTo?: string;
  limit: number;
  cursor?: string;
  idempotencyKey?: string;
}

interface CancelBody {
  reason?: string;
  by?: string;
}

const TAGS = ["sagas"];

/** `/sagas`: start, list, get, history, cancel. */
export const sagaRoutes: FastifyPluginCallback<{ orchestrator: Orchestrator }> = (app, { orchestrator }, done) => {
  app.post<{ Body: StartBody }>(
    "/sagas",
    {
      schema: {
        tags: TAGS,
        summary: "Start a saga",
        description: "Starts a saga of a definition this server runs. With an idempotency key already used, returns that saga (200) instead of starting another.",
        body: startBody,
        response: { 201: { ...ref("Saga"), description: "started" }, 200: { ...ref("Saga"), description: "the saga this idempotency key started before" }, ...problems(400, 401, 409, 413, 503) },
      },
    },
    async (request, reply) => {
      const { definition: name, version, input = null, idempotencyKey, id, deadlineMs } = request.body;
      const definition = version === undefined ? name : orchestrator.definitions.get(definitionKey(name, version));
      if (definition === undefined) throw new UnknownDefinitionError(name, version);
      const result = await orchestrator.start(definition, input, {
        ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        ...(id === undefined ? {} : { id }),
        ...(deadlineMs === undefined ? {} : { deadlineMs }),
      });
      return reply
        .code(result.created ? 201 : 200)
        .header("Location", `${request.routeOptions.url?.replace(/\/sagas$/, "") ?? ""}/sagas/${encodeURIComponent(result.id)}`)
        .send(result.state);
    },
  );

  app.get<{ Querystring: ListQueryString }>(
    "/sagas",
    {
      schema: {
        tags: TAGS,
        summary: "List sagas",
        description: "Newest first. Pass nextCursor back as cursor for the next page; null means this was the last.",
        querystring: listQuery,
        response: { 200: sagaPage, ...problems(400, 401, 503) },
      },
      // `?status=failed,compensated` as well as `?status=failed&status=compensated`.
      preValidation: (request, _reply, next) => {
        const query = request.query as { status?: unknown };
        if (typeof query.status === "string") query.status = query.status.split(",");
        else if (Array.isArray(query.status)) query.status = query.status.flatMap((s: unknown) => (typeof s === "string" ? s.split(",") : [s]));
        next();
      },
    },
    async (request, reply) => {
      const { status, definition, createdFrom, createdTo, limit, cursor, idempotencyKey } = request.query;
      if (cursor !== undefined) {
        try {
          decodeListCursor(cursor);
        } catch (error) {
          if (error instanceof InvalidArgumentError) return sendProblem(reply, problem(400, "VALIDATION_FAILED", "query.cursor is not a nextCursor of this API; list again without it", "query.cursor"));
          throw error;
        }
      }
      const createdFromMs = createdFrom === undefined ? undefined : Date.parse(createdFrom);
      const createdToMs = createdTo === undefined ? undefined : Date.parse(createdTo);
      if (idempotencyKey !== undefined) {
        // A key names at most one saga: a page of it, if it also passes the other filters.
        const found = (await orchestrator.store.findByIdempotencyKey(idempotencyKey))?.state;
        const passes =
          found !== undefined &&
          (status === undefined || status.includes(found.status)) &&
          (definition === undefined || found.definitionName === definition) &&
          (createdFromMs === undefined || found.createdAtMs >= createdFromMs) &&
          (createdToMs === undefined || found.createdAtMs < createdToMs);
        return { items: passes ? [found] : [], nextCursor: null };
      }
      const page = await orchestrator.list({
        limit,
        ...(status === undefined ? {} : { statuses: [...new Set(status)] as SagaStatus[] }),
        ...(definition === undefined ? {} : { definitionName: definition }),
        ...(createdFromMs === undefined ? {} : { createdFromMs }),
        ...(createdToMs === undefined ? {} : { createdToMs }),
        ...(cursor === undefined ? {} : { cursor }),
      });
      return page;
    },
  );

  app.get<{ Params: { id: string } }>(
    "/sagas/:id",
    {
      schema: { tags: TAGS, summary: "Get a saga", params: sagaIdParams, response: { 200: ref("Saga"), ...problems(400, 401, 404, 503) } },
    },
    async (request) => orchestrator.get(request.params.id),
  );

  app.get<{ Params: { id: string } }>(
    "/sagas/:id/history",
    {
      schema: {
        tags: TAGS,
        summary: "A saga's history",
        description: "Every transition, oldest first, each numbered (seq) and signed with the worker and epoch that wrote it.",
        params: sagaIdParams,
        response: { 200: historyPage, ...problems(400, 401, 404, 503) },
      },
    },
    async (request) => ({ items: await orchestrator.history(request.params.id) }),
  );

  app.post<{ Params: { id: string }; Body: CancelBody | null }>(
    "/sagas/:id/cancel",
    {
      schema: {
        tags: TAGS,
        summary: "Cancel a saga",
        description:
          "Asks a running saga to roll back: what completed is compensated, newest first, after a running step settles. " +
          "Accepted (202) also when it is already compensating. 409 for a saga that ended or passed its pivot step.",
        params: sagaIdParams,
        body: cancelBody,
        response: { 202: { ...ref("Saga"), description: "the cancellation is recorded; the saga as it is now" }, ...problems(400, 401, 404, 409, 503) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await orchestrator.cancel(id, { reason: request.body?.reason ?? "cancelled", by: request.body?.by ?? "http-api" });
      return reply.code(202).send(await orchestrator.get(id));
    },
  );

  app.post<{ Params: { id: string }; Body: CancelBody | null }>(
    "/sagas/:id/retry",
    {
      schema: {
        tags: TAGS,
        summary: "Retry a failed saga",
        description:
          "For a saga that ended failed, once the cause is fixed: its outstanding compensations run again (then it can end compensated), " +
          "or the step it was parked on runs again, each with a fresh retry budget and the same idempotency key. 409 for a saga that is not failed.",
        params: sagaIdParams,
        body: cancelBody,
        response: { 202: { ...ref("Saga"), description: "the retry is recorded; the saga as it is now" }, ...problems(400, 401, 404, 409, 503) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      await orchestrator.retry(id, { reason: request.body?.reason ?? "retried", by: request.body?.by ?? "http-api" });
      return reply.code(202).send(await orchestrator.get(id));
    },
  );

  app.post<{ Params: { id: string; step: string }; Body: { output?: unknown; by?: string } | null }>(
    "/sagas/:id/steps/:step/complete",
    {
      schema: {
        tags: TAGS,
        summary: "Complete a waiting step",
        description:
          "Answers a step that waits for an outside answer (a callback, an approval) with its output; the saga goes on. " +
          "Taken once: 409 when the step is not waiting now (not reached, answered, timed out, cancelled).",
        params: stepParams,
        body: completeBody,
        response: { 202: { ...ref("Saga"), description: "the answer is recorded; the saga as it is now" }, ...problems(400, 401, 404, 409, 413, 503) },
      },
    },
    async (request, reply) => {
      const { id, step } = request.params;
      await orchestrator.completeStep(id, step, request.body?.output ?? null, { by: request.body?.by ?? "http-api" });
      return reply.code(202).send(await orchestrator.get(id));
    },
  );

  app.post<{ Params: { id: string; step: string }; Body: { reason: string; by?: string } }>(
    "/sagas/:id/steps/:step/skip-compensation",
    {
      schema: {
        tags: TAGS,
        summary: "Skip an outstanding compensation",
        description:
          "For a failed saga: counts the step's outstanding compensation as settled by hand (with the reason in the history); the compensations after it run, and with none left the saga ends compensated. " +
          "409 when the saga is not failed or that compensation is not outstanding (an outstanding action is retried, not skipped).",
        params: stepParams,
        body: repairBody,
        response: { 202: { ...ref("Saga"), description: "the skip is recorded; the saga as it is now" }, ...problems(400, 401, 404, 409, 413, 503) },
      },
    },
    async (request, reply) => {
      const { id, step } = request.params;
      await orchestrator.skipCompensation(id, step, { reason: request.body.reason, by: request.body.by ?? "http-api" });
      return reply.code(202).send(await orchestrator.get(id));
    },
  );

  app.post<{ Params: { id: string }; Body: { reason: string; by?: string } }>(
    "/sagas/:id/abort",
    {
      schema: {
        tags: TAGS,
        summary: "Abort a saga (stop without compensating)",
        description:
          "For emergencies: a step or compensation in flight settles, nothing else starts, and the saga ends failed with the compensations it did not run outstanding (retry runs them later). " +
          "Cancel rolls back instead. 409 once the saga ended or was aborted.",
        params: sagaIdParams,
        body: repairBody,
        response: { 202: { ...ref("Saga"), description: "the abort is recorded; the saga as it is now" }, ...problems(400, 401, 404, 409, 413, 503) },
      },
    },
    async (request, reply) => {
      await orchestrator.abort(request.params.id, { reason: request.body.reason, by: request.body.by ?? "http-api" });
      return reply.code(202).send(await orchestrator.get(request.params.id));
    },
  );

  app.post<{ Params: { id: string }; Body: { toVersion: number; reason: string; by?: string } }>(
    "/sagas/:id/migrate",
    {
      schema: {
        tags: TAGS,
        summary: "Move a saga onto another version of its definition",
        description:
          "For a saga that has not ended, when the steps it reached line up (same names and kinds) with the target version, which this server runs: what it did is kept, the steps after them are the new version's. " +
          "409 when they do not line up, when it ended, or when a step of it is running right now (retry while it waits); 400 for a version this server does not run.",
        params: sagaIdParams,
        body: migrateBody,
        response: { 202: { ...ref("Saga"), description: "moved; the saga as it is now" }, ...problems(400, 401, 404, 409, 413, 503) },
      },
    },
    async (request, reply) => {
      const moved = await orchestrator.migrate(request.params.id, request.body.toVersion, { reason: request.body.reason, by: request.body.by ?? "http-api" });
      return reply.code(202).send(moved);
    },
  );

  app.post<{ Params: { id: string }; Body: { reason: string; by?: string } }>(
    "/sagas/:id/resolve",
    {
      schema: {
        tags: TAGS,
        summary: "Mark a failed saga resolved",
        description:
          "For a failed saga whose outstanding work an operator settled outside Sagaflow: it stays failed, records who resolved it and why, and no longer needs attention. 409 unless the saga is failed and not resolved yet.",
        params: sagaIdParams,
        body: repairBody,
        response: { 202: { ...ref("Saga"), description: "the resolution is recorded; the saga as it is now" }, ...problems(400, 401, 404, 409, 413, 503) },
      },
    },
    async (request, reply) => {
      await orchestrator.resolve(request.params.id, { reason: request.body.reason, by: request.body.by ?? "http-api" });
      return reply.code(202).send(await orchestrator.get(request.params.id));
    },
  );

  app.post<{ Params: { id: string; name: string }; Body: { data?: unknown; id?: string; by?: string } | null }>(
    "/sagas/:id/signals/:name",
    {
      schema: {
        tags: TAGS,
        summary: "Send a named event",
        description:
          "Delivers a named event (e.g. manager-approved) and its payload to a saga. A step waiting for it takes the payload as its output; " +
          "an event that arrives before the saga waits for it is kept until it does. A delivery with an id the saga already recorded is a duplicate: 200, nothing changes. 409 once the saga ended.",
        params: signalParams,
        body: signalBody,
        response: {
          202: { ...ref("Saga"), description: "the event is delivered; the saga as it is now" },
          200: { ...ref("Saga"), description: "a duplicate of a delivery the saga already recorded: nothing changed" },
          ...problems(400, 401, 404, 409, 413, 503),
        },
      },
    },
    async (request, reply) => {
      const { id, name } = request.params;
      const body = request.body;
      const { duplicate } = await orchestrator.signal(id, name, body?.data ?? null, { by: body?.by ?? "http-api", ...(body?.id === undefined ? {} : { id: body.id }) });
      return reply.code(duplicate ? 200 : 202).send(await orchestrator.get(id));
    },
  );

  app.post<{ Params: { id: string; step: string }; Body: { error: { message: string; name?: string; code?: string }; retryable?: boolean; by?: string } }>(
    "/sagas/:id/steps/:step/fail",
    {
      schema: {
        tags: TAGS,
        summary: "Fail a waiting step",
        description: "Fails a waiting step: for good unless retryable, so the saga compensates what completed. 409 when the step is not waiting now.",
        params: stepParams,
        body: failBody,
        response: { 202: { ...ref("Saga"), description: "the failure is recorded; the saga as it is now" }, ...problems(400, 401, 404, 409, 413, 503) },
      },
    },
    async (request, reply) => {
      const { id, step } = request.params;
      const { error, retryable, by } = request.body;
      await orchestrator.failStep(id, step, error, { retryable: retryable ?? false, by: by ?? "http-api" });
      return reply.code(202).send(await orchestrator.get(id));
    },
  );
  done();
};
