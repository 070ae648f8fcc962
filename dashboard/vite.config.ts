import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));
// Where `vite preview` / `vite` forward /api while the dashboard is not served by the API server itself.
const apiTarget = process.env.SAGAFLOW_API ?? "http://127.0.0.1:18300";

export default defineConfig({
  root,
  // Relative asset URLs: the server may mount the dashboard under any prefix.
  base: "./",
  oxc: { jsx: { runtime: "automatic" } },
  build: {
    outDir: fileURLToPath(new URL("./dist", import.meta.url)),
    emptyOutDir: true,
  },
  server: { proxy: { "/api": apiTarget } },
  preview: { proxy: { "/api": apiTarget } },
});
