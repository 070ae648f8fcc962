// The harness's PostgreSQL monitor: the flush it asks for between cells, and what it says when the
// server refuses it.
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { ServerMonitor } from "../../bench/pg.js";
import { postgresUrl, withClient } from "../support/postgres.js";

const role = `bench_monitor_${randomBytes(4).toString("hex")}`;

afterAll(async () => {
  await withClient(postgresUrl(), (client) => client.query(`DROP ROLE IF EXISTS ${role}`));
});

describe("ServerMonitor.checkpoint", () => {
  it("has the server write back its dirty buffers, as the run's own role may", async () => {
    const monitor = await ServerMonitor.connect(postgresUrl());
    try {
      await expect(monitor.checkpoint()).resolves.toBeNull();
    } finally {
      await monitor.close();
    }
  });

  it("says why it could not, without throwing, for a role that may not", async () => {
    const url = postgresUrl();
    // A password too, for a server that asks for one (the embedded server the tests may start does).
    await withClient(url, (client) => client.query(`CREATE ROLE ${role} LOGIN PASSWORD '${role}'`));
    const parsed = new URL(url);
    parsed.username = role;
    parsed.password = role;
    const monitor = await ServerMonitor.connect(parsed.toString());
    try {
      expect(await monitor.checkpoint()).toMatch(/permission denied|must be superuser|pg_checkpoint/i);
    } finally {
      await monitor.close();
    }
  });
});
