import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SEED_ORDERS } from "../order/order-generator.js";
import type { SagaState } from "../../domain/state.js";

/** The repository root: children run the TypeScript sources through tsx from here. */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const SERVICES = ["payments", "inventory", "shipping"] as const;
type Service = (typeof SERVICES)[number];

export interface QuickstartOptions {
  /** Where the orchestrator's and each service's SQLite files go (created if missing). */
  dir: string;
  /** The orchestrator's port; 0 takes any free one. */
  port: number;
  /** Lines for the person watching (stdout). */
  print: (line: string) => void;
  /** How long a service takes over each call (a slow warehouse leaves sagas running long enough to watch or cancel). */
  stepDelayMs?: Partial<Record<Service, number>>;
  /** The dashboard build the server serves (default: the package's own, `npm run build:dashboard`). */
  dashboardDirectory?: string;
}

export interface Quickstart {
  api: string;
  /** The dashboard's address (the server's root). */
  dashboard: string;
  services: Record<Service, string>;
  /** The seed's two orders as the API reports them once they ended. */
  outcomes: SagaState[];
  /** Stops the orchestrator and the services (SIGTERM, each drains) and waits for them. */
  stop(): Promise<void>;
}

/**
 * The example for real: the three participant services and the orchestrator server as separate
 * processes, each with its own SQLite file, the order saga loaded from its declarative definition
 * (examples/order/), and the seed's two orders started over the HTTP API: order-123 completes,
 * fail-inventory is refused by the warehouse and its payment is compensated.
 */
export async function startQuickstart(options: QuickstartOptions): Promise<Quickstart> {
  mkdirSync(options.dir, { recursive: true });
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    // The orchestrator first, so no saga calls a service that is already gone.
    for (const child of [...children].reverse()) await terminate(child);
  };
  try {
    const services = {} as Record<Service, string>;
    for (const service of SERVICES) {
      const delay = options.stepDelayMs?.[service];
      const child = node(
        ["src/examples/services/main.ts", service, "--db", join(options.dir, `${service}.db`), "--port", "0", ...(delay === undefined ? [] : ["--step-delay-ms", String(delay)])],
        {},
      );
      children.push(child);
      services[service] = await announced(child, "stdout", new RegExp(`^${service} listening on (http://\\S+)$`, "m"), `the ${service} service`);
      options.print(`${service.padEnd(9)} ${services[service]}  (ledger: ${services[service]}/ledger)`);
    }
    const server = node(
      [
        "src/cli/main.ts",
        "server",
        "--db",
        join(options.dir, "orchestrator.db"),
        "--port",
        String(options.port),
        "--definitions",
        "examples/order",
        "--log-level",
        "warn",
        ...(options.dashboardDirectory === undefined ? [] : ["--dashboard", options.dashboardDirectory]),
      ],
      { PAYMENTS_URL: services.payments, INVENTORY_URL: services.inventory, SHIPPING_URL: services.shipping },
    );
    children.push(server);
    const api = await announced(server, "stderr", /API at (http:\/\/\S+\/api\/v1)/, "the orchestrator server");
    const root = api.replace(/\/api\/v1$/, "");
    const dashboard = `${root}/`;
    options.print(`orchestrator ${api}  (OpenAPI: ${api}/openapi.json, metrics: ${root}/metrics)`);
    options.print(`dashboard    ${dashboard}`);

    const outcomes: SagaState[] = [];
    for (const order of SEED_ORDERS) {
      const response = await fetch(`${api}/sagas`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        // The order id as the key: running the example again on the same files shows the same sagas (200), not new ones.
        body: JSON.stringify({ definition: "order", input: order, idempotencyKey: order.orderId }),
      });
      if (response.status !== 201 && response.status !== 200) throw new Error(`starting ${order.orderId} failed: ${response.status} ${await response.text()}`);
      const { id } = (await response.json()) as SagaState;
      outcomes.push(await ended(api, id));
    }
    for (const saga of outcomes) {
      options.print("");
      options.print(`${(saga.input as { orderId: string }).orderId}: ${saga.status}  (${dashboard}#/sagas/${encodeURIComponent(saga.id)})`);
      for (const step of saga.steps) {
        const compensation = step.compensation.status === "not_needed" || step.compensation.status === "pending" ? "" : `, compensation ${step.compensation.status}`;
        const error = step.action.lastError === undefined ? "" : ` (${briefly(step.action.lastError.message)})`;
        options.print(`  ${step.name.padEnd(17)} ${step.action.status}${error}${compensation}`);
      }
    }
    return { api, dashboard, services, outcomes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function node(args: readonly string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ["--import", "tsx", ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
}

/** Resolves with the first match of `pattern` in the child's output; rejects (with its output) if it exits first. */
function announced(child: ChildProcess, stream: "stdout" | "stderr", pattern: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    let errors = "";
    child.stderr?.on("data", (chunk: Buffer) => (errors += chunk.toString()));
    child[stream]?.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`${what} exited (${String(code)}) before it was ready:\n${errors || seen}`)));
  });
}

async function ended(api: string, id: string): Promise<SagaState> {
  for (let i = 0; i < 600; i++) {
    const saga = (await (await fetch(`${api}/sagas/${id}`)).json()) as SagaState;
    if (saga.status === "completed" || saga.status === "compensated" || saga.status === "failed") return saga;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`saga ${id} did not end within 30 s`);
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  await exited;
}

/** The participant's answer out of an HTTP step's error message, which also says where and what to do. */
function briefly(message: string): string {
  const answered = /answered (.+?) \(the participant/.exec(message)?.[1];
  return answered ?? (message.length > 160 ? `${message.slice(0, 160)}…` : message);
}
