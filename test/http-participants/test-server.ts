import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach } from "vitest";

export interface RecordedRequest {
  method: string;
  /** Path and query as received, still percent-encoded. */
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Handler = (request: RecordedRequest, response: ServerResponse) => void | Promise<void>;

/** A participant on 127.0.0.1: records every request and answers with the handler of the moment. */
export class TestServer {
  readonly requests: RecordedRequest[] = [];
  handler: Handler = (_, response) => json(response, 200, {});
  readonly #server: Server;
  #base = "";

  private constructor() {
    this.#server = createServer((request, response) => void this.#handle(request, response));
  }

  static async start(): Promise<TestServer> {
    const server = new TestServer();
    await server.#listen();
    return server;
  }

  /**
   * One server for the calling test file: listening before its tests, closed after them, and
   * before each test its recorded requests cleared and its handler set back to `handler`.
   */
  static forFile(handler: Handler = (_, response) => json(response, 200, {})): TestServer {
    const server = new TestServer();
    beforeAll(() => server.#listen());
    afterAll(() => server.close());
    beforeEach(() => {
      server.requests.length = 0;
      server.handler = handler;
    });
    return server;
  }

  async #listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, "127.0.0.1", resolve));
    this.#base = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** `http://127.0.0.1:<port>` followed by `path`. */
  url(path = ""): string {
    return `${this.#base}${path}`;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const recorded: RecordedRequest = { method: request.method ?? "", url: request.url ?? "", headers: request.headers, body: Buffer.concat(chunks).toString("utf8") };
    this.requests.push(recorded);
    try {
      await this.handler(recorded, response);
    } catch (error) {
      if (!response.headersSent) json(response, 500, { error: `test handler threw: ${String(error)}` });
    }
  }

  /** Drops open connections too, so a request a test left hanging cannot keep the server alive. */
  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.#server.close((error) => (error ? reject(error) : resolve())));
  }
}

export function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  response.end(text);
}

/** Never answers: for timeouts and aborts. */
export const hang: Handler = () => new Promise<void>(() => undefined);
