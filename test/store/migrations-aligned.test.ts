// A migration number means the same change in both SQL dialects: a database's version then says
// what its rows hold (e.g. from 7 on, states without the fields kept in columns), whichever store
// wrote it, and a Sagaflow older than the data refuses it (SCHEMA_TOO_NEW) instead of misreading it.
import { describe, expect, it } from "vitest";
import { LATEST_SCHEMA_VERSION as POSTGRES_LATEST, MIGRATIONS as POSTGRES } from "../../src/store/postgres/migrations.js";
import { LATEST_SCHEMA_VERSION as SQLITE_LATEST, MIGRATIONS as SQLITE } from "../../src/store/sqlite/migrations.js";

describe("migrations", () => {
  it("are numbered from 1 without gaps and name the same change under each number in both dialects", () => {
    const numbered = (migrations: ReadonlyArray<{ version: number; name: string }>): Array<[number, string]> => migrations.map((m) => [m.version, m.name]);
    expect(SQLITE.map((m) => m.version)).toEqual(Array.from({ length: SQLITE.length }, (_, i) => i + 1));
    expect(numbered(SQLITE)).toEqual(numbered(POSTGRES));
    expect(SQLITE_LATEST).toBe(POSTGRES_LATEST);
  });

  it("mark the compact state format (migration 7), so that code from before refuses the data", () => {
    expect(SQLITE_LATEST).toBeGreaterThanOrEqual(7);
    expect(SQLITE.find((m) => m.version === 7)?.name).toMatch(/states stored without the columns' fields/);
  });

  it("mark the errors stored once (migration 8), so that code from before refuses the data", () => {
    expect(SQLITE_LATEST).toBeGreaterThanOrEqual(8);
    expect(SQLITE.find((m) => m.version === 8)?.name).toMatch(/a stop's as its step's last error, a giving-up's as the failure before it/);
  });
});
