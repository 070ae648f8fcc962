import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { definitionHash, loadDefinitionsDirectory, parseDefinitionDocument } from "../../src/declarative/index.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { lines } from "./support.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "sagaflow-definitions-"));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const approvalYaml = (version: number): string =>
  lines("name: approval", `version: ${version}`, "steps:", "  - name: Approve", "    wait: { timeoutMs: 1000 }");

const paymentJson = JSON.stringify(
  {
    name: "payment",
    version: 1,
    steps: [{ name: "Charge", action: { http: { method: "POST", url: "${PAYMENTS_URL}/charges" } } }],
  },
  null,
  2,
);

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(Error);
  return outcome as Error;
}

describe("loadDefinitionsDirectory", () => {
  it("parses and builds every *.json, *.yaml and *.yml file, in name order, skipping the rest", async () => {
    writeFileSync(join(dir, "b-approval.yaml"), approvalYaml(1));
    writeFileSync(join(dir, "a-payment.json"), paymentJson);
    writeFileSync(join(dir, "c-approval-v2.YML"), approvalYaml(2));
    writeFileSync(join(dir, "README.md"), "# not a definition");
    writeFileSync(join(dir, ".b-approval.yaml.swp"), "editor litter");
    writeFileSync(join(dir, ".hidden.yaml"), "not: valid");
    mkdirSync(join(dir, "nested.yaml"));
    writeFileSync(join(dir, "nested.yaml", "deeper.yaml"), approvalYaml(3));

    const loaded = await loadDefinitionsDirectory(dir, { variables: { PAYMENTS_URL: "http://payments.example" } });
    expect(loaded.map((entry) => [entry.file, `${entry.definition.name}@${entry.definition.version}`])).toEqual([
      [join(dir, "a-payment.json"), "payment@1"],
      [join(dir, "b-approval.yaml"), "approval@1"],
      [join(dir, "c-approval-v2.YML"), "approval@2"],
    ]);
    expect(loaded[0]?.hash).toBe(definitionHash(parseDefinitionDocument(paymentJson, { format: "json" })));
    expect(loaded[1]?.document.steps[0]?.wait).toEqual({ timeoutMs: 1000 });
    expect(loaded[1]?.definition.plan.steps[0]?.wait).toBe(true);
  });

  it("follows symbolic links to files, as in a mounted ConfigMap", async () => {
    const data = join(dir, "..data");
    mkdirSync(data);
    writeFileSync(join(data, "approval.yaml"), approvalYaml(1));
    symlinkSync(join(data, "approval.yaml"), join(dir, "approval.yaml"));
    expect((await loadDefinitionsDirectory(dir)).map((entry) => entry.file)).toEqual([join(dir, "approval.yaml")]);
  });

  it("refuses two files with the same name@version, naming both files and the line", async () => {
    writeFileSync(join(dir, "approval.yaml"), approvalYaml(1));
    writeFileSync(join(dir, "approval-copy.json"), JSON.stringify({ name: "approval", version: 1, steps: [{ name: "Other", wait: {} }] }));
    const error = await rejection(loadDefinitionsDirectory(dir));
    expect(error).toMatchObject({
      code: "INVALID_DEFINITION",
      issues: [
        {
          source: join(dir, "approval.yaml"),
          field: "version",
          line: 2,
          column: 10,
          message: `repeats approval@1, already defined by ${join(dir, "approval-copy.json")}; each name@version must be one document (give this one a new version)`,
        },
      ],
    });
    expect(error.message).toContain(`definitions directory ${JSON.stringify(dir)} (1 file) has 1 problem`);
  });

  it("reports the problems of every file together, each naming its file", async () => {
    writeFileSync(join(dir, "a.yaml"), lines("name: a", "version: 0", "steps: [{ name: A, wait: {} }]"));
    writeFileSync(join(dir, "b.json"), paymentJson);
    writeFileSync(join(dir, "c.yaml"), approvalYaml(1));
    const error = await rejection(loadDefinitionsDirectory(dir, { variables: {} }));
    expect((error as unknown as { issues: unknown[] }).issues).toEqual([
      expect.objectContaining({ source: join(dir, "a.yaml"), field: "version", line: 2, column: 10, message: "must be ≥ 1, got 0" }),
      expect.objectContaining({ source: join(dir, "b.json"), field: "steps[0].action.http.url", line: 10, column: 18, message: expect.stringContaining("PAYMENTS_URL is not set") as string }),
    ]);
    expect(error.message).toContain(`${join(dir, "a.yaml")}:2:10 version must be ≥ 1, got 0`);
  });

  it("gives an empty list for an empty directory, and InvalidArgumentError for one that cannot be read", async () => {
    expect(await loadDefinitionsDirectory(dir)).toEqual([]);
    const error = await rejection(loadDefinitionsDirectory(join(dir, "missing")));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error.message).toContain(`directory ${JSON.stringify(join(dir, "missing"))} cannot be read`);
  });
});
