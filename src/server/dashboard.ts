import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

/**
 * Where the package keeps the dashboard's production build (`npm run build:dashboard`): the
 * same two folders up from this module in `src/server/` and in the published `dist/server/`.
 */
export const BUNDLED_DASHBOARD_DIRECTORY = fileURLToPath(new URL("../../dashboard/dist/", import.meta.url));

/**
 * The dashboard talks only to this server's API and loads nothing from anywhere else; the policy
 * makes that a rule the browser enforces. Inline styles stay allowed for the charts' positions.
 */
const CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sagaflow</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>Sagaflow</h1>
<p>The dashboard has not been built in this checkout. Run <code>npm run build:dashboard</code> and restart the server.
The API is at <a href="api/v1/openapi.json">api/v1/openapi.json</a>.</p>
</body></html>`;

/**
 * Serves the dashboard's files at `/` (the app routes in the URL's hash, so only `index.html` and
 * its assets are needed); without a build, `/` says how to make one.
 */
export async function registerDashboard(app: FastifyInstance, directory: string): Promise<void> {
  if (!existsSync(`${directory}/index.html`)) {
    app.get("/", { schema: { hide: true } }, (_request, reply) => reply.type("text/html; charset=utf-8").header("Content-Security-Policy", CONTENT_SECURITY_POLICY).send(NOT_BUILT_PAGE));
    return;
  }
  await app.register(fastifyStatic, {
    root: directory,
    prefix: "/",
    // One route per built file, no catch-all: unknown paths keep the API's problem+json 404.
    wildcard: false,
    schemaHide: true,
    // Asset names carry a content hash; index.html does not, so it is always revalidated.
    setHeaders: (response, path) => {
      response.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
      response.header("X-Content-Type-Options", "nosniff");
      response.header("Cache-Control", path.endsWith(".html") ? "no-cache" : "public, max-age=31536000, immutable");
    },
  });
}
