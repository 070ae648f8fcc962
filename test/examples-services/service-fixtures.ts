import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterEach, expect } from "vitest";
import { openParticipantApp, type ParticipantAppOptions, type ParticipantServiceName, type ServiceLedger } from "../../src/examples/services/index.js";

/** A fresh directory per test, removed afterwards with everything opened in it closed first. */
export function useServiceApps(): {
  dir: () => string;
  open: (service: ParticipantServiceName, options?: Partial<ParticipantAppOptions>) => Promise<FastifyInstance>;
} {
  let dir: string | undefined;
  const apps: FastifyInstance[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  const currentDir = (): string => (dir ??= mkdtempSync(join(tmpdir(), "sagaflow-services-")));
  return {
    dir: currentDir,
    open: async (service, options = {}) => {
      const app = await openParticipantApp({ service, dbPath: join(currentDir(), `${service}.db`), ...options });
      apps.push(app);
      return app;
    },
  };
}

/** POSTs `body` as JSON, with `key` as Idempotency-Key unless it is undefined. */
export function post(app: FastifyInstance, url: string, body: unknown, key: string | undefined): Promise<LightMyRequestResponse> {
  return app.inject({ method: "POST", url, headers: key === undefined ? {} : { "idempotency-key": key }, payload: body as object });
}

export async function readLedger(app: FastifyInstance): Promise<ServiceLedger> {
  const res = await app.inject({ method: "GET", url: "/ledger" });
  expect(res.statusCode).toBe(200);
  return res.json<ServiceLedger>();
}

/** Asserts an RFC 9457 problem with this status and code (and field, when given); returns its body. */
export function expectProblem(res: LightMyRequestResponse, status: number, code: string, field?: string): Record<string, unknown> {
  expect(res.statusCode, res.body).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const body = res.json<Record<string, unknown>>();
  expect(body).toMatchObject({ status, code });
  if (field !== undefined) expect(body.field).toBe(field);
  return body;
}
