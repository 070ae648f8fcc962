import { describe, expect, it } from "vitest";
import { isSagaStatus, isTerminal, SAGA_STATUSES, TERMINAL_STATUSES } from "../../src/domain/status.js";

describe("saga statuses", () => {
  it("call terminal exactly the statuses TERMINAL_STATUSES lists, which the SQL stores' queries are built from", () => {
    expect(SAGA_STATUSES.filter(isTerminal)).toEqual(TERMINAL_STATUSES);
    expect(TERMINAL_STATUSES).toEqual(["completed", "compensated", "failed"]);
  });

  it("recognise every status and nothing else", () => {
    expect(SAGA_STATUSES.every(isSagaStatus)).toBe(true);
    for (const value of ["", "Completed", "done", null, undefined, 1, {}]) expect(isSagaStatus(value)).toBe(false);
  });
});
