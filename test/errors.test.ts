import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as errors from "../src/errors.js";

describe("error codes", () => {
  const documented = readFileSync(new URL("../docs/errors.md", import.meta.url), "utf8");

  it.each(Object.values(errors.ErrorCode))("%s is documented in docs/errors.md", (code) => {
    expect(documented).toContain(`\`${code}\``);
  });

  it("every exported error class extends SagaflowError and carries a known code", () => {
    const classes = Object.values(errors).filter(
      (value): value is typeof errors.SagaflowError => typeof value === "function" && value.prototype instanceof errors.SagaflowError,
    );
    expect(classes.length).toBeGreaterThanOrEqual(14);
    for (const ErrorClass of classes) expect(documented).toContain(`\`${ErrorClass.name}\``);
  });

  it("keeps the cause and names the class", () => {
    const cause = new Error("socket hang up");
    const error = new errors.RetryableError("payment service busy", { cause, retryAfterMs: 250 });
    expect(error.name).toBe("RetryableError");
    expect(error.code).toBe("RETRYABLE");
    expect(error.cause).toBe(cause);
    expect(error.retryAfterMs).toBe(250);
  });
});
