#!/usr/bin/env node
// The published entry point runs the compiled CLI (`npm run build`, run by `npm ci`/`npm install` via `prepare`).
import "../dist/cli/main.js";
