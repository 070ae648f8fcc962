import { accessSync, constants } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** Where Debian's package puts Chromium; `SAGAFLOW_CHROMIUM` names another executable. */
const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/**
 * The Chromium the browser tests drive, or why there is none. CI installs Debian's package
 * (`.ci/run`), so there it is an error to be without one; elsewhere the tests say loudly that they
 * did not run, and how to make them run.
 */
export function findChromium(): { path: string } | { missing: string } {
  const configured = process.env.SAGAFLOW_CHROMIUM;
  const candidates = configured !== undefined && configured !== "" ? [configured] : CANDIDATES;
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return { path };
    } catch {
      // try the next one
    }
  }
  return { missing: `no Chromium at ${candidates.join(", ")}: install Debian's package (apt-get install chromium) or set SAGAFLOW_CHROMIUM` };
}

/**
 * Headless Chromium as playwright-core drives it here: nothing is downloaded, and the flags keep
 * it from reaching for the network (this machine has none beyond loopback).
 */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}
