import { describe, expect, it } from "vitest";
import { withSessionSettings } from "../../src/store/postgres/connection.js";

const SETTINGS = "-c plan_cache_mode=force_generic_plan";

describe("withSessionSettings", () => {
  it("adds the settings as the connection's options when it has none", () => {
    const url = new URL(withSessionSettings("postgres://u:p%40ss@db.example:5433/app?application_name=x", SETTINGS));
    expect(url.searchParams.get("options")).toBe(SETTINGS);
    expect(url.searchParams.get("application_name")).toBe("x");
    // The password keeps its escaping, so the driver decodes the same password.
    expect(url.password).toBe("p%40ss");
    expect(`${url.hostname}:${url.port}${url.pathname}`).toBe("db.example:5433/app");
  });

  it("keeps the user's own options after the settings, so that theirs win where both set something", () => {
    const url = new URL(withSessionSettings("postgres://db/app?options=-c%20synchronous_commit%3Doff", SETTINGS));
    expect(url.searchParams.get("options")).toBe(`${SETTINGS} -c synchronous_commit=off`);
  });

  it("leaves a string that is not a URL as it is", () => {
    expect(withSessionSettings("not a url", SETTINGS)).toBe("not a url");
  });
});
