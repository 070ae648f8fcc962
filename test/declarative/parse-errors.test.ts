import { describe, expect, it } from "vitest";
import { buildDeclarativeSaga, formatIssue, MAX_ALIAS_EXPANSION, MAX_DOCUMENT_BYTES, MAX_STEPS, parseDefinitionDocument, parseDefinitionValue } from "../../src/declarative/index.js";
import { documentErrorOf, issuesOf, lines } from "./support.js";

/** A valid document, one line per item: line n of the text is BASE[n - 1]. */
const BASE = [
  "name: order", // 1
  "version: 1", // 2
  "steps:", // 3
  "  - name: ReservePayment", // 4
  "    action:", // 5
  "      http:", // 6
  "        method: POST", // 7
  "        url: https://payments.example/payments", // 8
  '        body: { orderId: "{{ input.orderId }}" }', // 9
  "    compensation:", // 10
  '      http: { method: POST, url: "https://payments.example/release" }', // 11
  "  - name: Approve", // 12
  "    wait: { timeoutMs: 1000 }", // 13
];

/** BASE with line `line` (1-based) replaced by `text` (several lines, or none, allowed). */
function edit(line: number, ...text: string[]): string {
  return lines(...BASE.slice(0, line - 1), ...text, ...BASE.slice(line));
}

/** BASE with `text` inserted after line `line`. */
function insertAfter(line: number, ...text: string[]): string {
  return lines(...BASE.slice(0, line), ...text, ...BASE.slice(line));
}

describe("parseDefinitionDocument: every kind of error names the field and where it is written", () => {
  it("accepts the base document (so each case below fails for its own edit)", () => {
    expect(parseDefinitionDocument(lines(...BASE), { source: "order.yaml" }).steps.map((step) => step.name)).toEqual(["ReservePayment", "Approve"]);
  });

  const cases: { name: string; text: string; field: string; line: number; column: number; message: string }[] = [
    { name: "a value of the wrong type", text: edit(2, 'version: "1"'), field: "version", line: 2, column: 10, message: 'must be an integer, got "1"' },
    {
      name: "an unknown property, with the near miss suggested",
      text: insertAfter(11, "    timeoutMS: 5000"),
      field: "steps[0].timeoutMS",
      line: 12,
      column: 5,
      message: "is not a known field (known: name, action, wait, sleep, compensation, retry, timeoutMs,",
    },
    { name: "a missing required property (placed at its parent)", text: edit(8), field: "steps[0].action.http.url", line: 7, column: 9, message: "is required" },
    { name: "a bad HTTP method", text: edit(7, "        method: FETCH"), field: "steps[0].action.http.method", line: 7, column: 17, message: 'must be one of GET, POST, PUT, PATCH, DELETE, got "FETCH"' },
    { name: "duplicate step names", text: edit(12, "  - name: ReservePayment"), field: "steps[1].name", line: 12, column: 11, message: "repeats the name of steps[0]; step names must be unique" },
    { name: "a duplicate YAML key", text: insertAfter(4, "    name: Again"), field: "steps[0].name", line: 5, column: 5, message: "is written twice; keys must be unique" },
    {
      name: "{{ output }} in an action",
      text: edit(9, '        body: { orderId: "{{ output.orderId }}" }'),
      field: "steps[0].action.http.body.orderId",
      line: 9,
      column: 26,
      message: "has {{ output.orderId }}, which an action cannot use",
    },
    {
      name: "both action and wait",
      text: insertAfter(13, '    action: { http: { method: GET, url: "https://approvals.example" } }'),
      field: "steps[1].wait",
      line: 13,
      column: 5,
      message: "cannot be given with action",
    },
    { name: "neither action nor wait", text: edit(13), field: "steps[1]", line: 12, column: 5, message: "needs an action (an HTTP call), a wait (an answer from outside, as for waitStep) or a sleep" },
    {
      name: "too many aliases (a billion-laughs document), placed at the alias being expanded",
      text: insertAfter(
        2,
        "x-a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]",
        "x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
        "x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
        "x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
        "x-e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]",
      ),
      // b expands to 110 values, c to 1,110; each *c in d to 1,111: the 8th (x-d[7]) passes 10,000.
      field: "x-d[7]",
      line: 6,
      column: 38,
      message: `expands YAML aliases to more than ${MAX_ALIAS_EXPANSION} values`,
    },
    { name: "a YAML tag (!!binary)", text: edit(9, "        body: !!binary aGVsbG8="), field: "steps[0].action.http.body", line: 9, column: 24, message: "has the tag tag:yaml.org,2002:binary" },
    { name: "a number JSON cannot hold (.inf)", text: edit(13, "    wait: { timeoutMs: .inf }"), field: "steps[1].wait.timeoutMs", line: 13, column: 24, message: "is Infinity, which JSON cannot hold" },
    { name: "a second YAML document", text: lines(...BASE, "---", "name: other"), field: "", line: 14, column: 1, message: "is followed by a second document" },
    { name: "broken YAML syntax", text: edit(8, '        url: "https://payments.example'), field: "steps[0].action.http.url", line: 8, column: 39, message: 'is not valid YAML: Missing closing "quote' },
    {
      name: "a reference to a step that does not come earlier",
      text: edit(9, '        body: { after: "{{ steps.Approve.output.by }}" }'),
      field: "steps[0].action.http.body.after",
      line: 9,
      column: 24,
      message: 'has {{ steps.Approve.output.by }}, but "Approve" is not an earlier step (steps before this one: none: this is the first step)',
    },
    { name: "timeoutMs on a waiting step", text: insertAfter(13, "    timeoutMs: 5"), field: "steps[1].timeoutMs", line: 14, column: 5, message: "does not apply to a waiting step; write how long it waits as wait.timeoutMs" },
    { name: "compensateOnFailure without a compensation", text: insertAfter(13, "    compensateOnFailure: true"), field: "steps[1].compensateOnFailure", line: 14, column: 26, message: "needs a compensation to run" },
    {
      name: "a retry policy the DSL refuses (maxDelayMs below initialDelayMs)",
      text: insertAfter(11, "    retry: { initialDelayMs: 500, maxDelayMs: 100 }"),
      field: "steps[0].retry.maxDelayMs",
      line: 12,
      column: 47,
      message: "must be ≥ initialDelayMs (500), got 100",
    },
    {
      name: "a malformed ${VARIABLE}",
      text: edit(8, "        url: ${payments_url}/payments"),
      field: "steps[0].action.http.url",
      line: 8,
      column: 14,
      message: 'has "${payments_url}", which is no variable reference',
    },
    {
      name: "a ${VARIABLE} in a body (replaced only in url and headers)",
      text: edit(9, '        body: { token: "${API_TOKEN}" }'),
      field: "steps[0].action.http.body.token",
      line: 9,
      column: 24,
      message: "holds ${API_TOKEN}, but variables are replaced only in url and header values",
    },
    {
      name: "a header the HTTP step refuses",
      text: insertAfter(9, '        headers: { Idempotency-Key: "k" }'),
      field: "steps[0].action.http.headers.Idempotency-Key",
      line: 10,
      column: 37,
      message: "cannot be set: the step always sends the saga's own key",
    },
    { name: "an HTTP status out of range", text: insertAfter(9, "        okStatuses: [404, 700]"), field: "steps[0].action.http.okStatuses[1]", line: 10, column: 27, message: "must be ≤ 599, got 700" },
    {
      name: "an input schema with a misspelt keyword",
      text: insertAfter(2, "input:", "  type: object", "  properties: { amountCents: { type: integr } }"),
      field: "input.properties.amountCents.type",
      line: 5,
      column: 38,
      message: 'must be one of array, boolean, integer, null, number, object, string, got "integr"',
    },
    { name: "an input schema Ajv cannot compile", text: insertAfter(2, "input:", "  type: object", "  minimun: 3"), field: "input", line: 4, column: 3, message: 'unknown keyword: "minimun"' },
    { name: "an empty document", text: "# nothing yet\n", field: "", line: 1, column: 1, message: "is empty" },
  ];

  it.each(cases)("$name", ({ text, field, line, column, message }) => {
    const issues = issuesOf(text);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toEqual({ source: "order.yaml", field, line, column, message: expect.stringContaining(message) as string });
  });

  it("reports a missing ${VARIABLE} when building, naming the field, the variable and its line", () => {
    const document = parseDefinitionDocument(edit(8, "        url: ${PAYMENTS_URL}/payments"), { source: "order.yaml" });
    const error = documentErrorOf(() => buildDeclarativeSaga(document, { variables: { INVENTORY_URL: "http://inventory.example" } }));
    expect(error.issues).toEqual([
      {
        source: "order.yaml",
        field: "steps[0].action.http.url",
        line: 8,
        column: 14,
        message: "uses ${PAYMENTS_URL}, but the variable PAYMENTS_URL is not set; set it where the definition is loaded (e.g. the server's environment)",
      },
    ]);
    expect(error.message).toContain("order.yaml:8:14 steps[0].action.http.url uses ${PAYMENTS_URL}");
  });

  it("reports a variable whose value breaks the call without quoting the value (it may be a secret)", () => {
    const document = parseDefinitionDocument(insertAfter(9, '        headers: { Authorization: "Bearer ${API_TOKEN}" }', "        okStatuses: [404]"), { source: "order.yaml" });
    const error = documentErrorOf(() => buildDeclarativeSaga(document, { variables: { API_TOKEN: "s3cret\r\nX-Evil: 1" } }));
    expect(error.issues).toEqual([
      expect.objectContaining({ field: "steps[0].action.http.headers.Authorization", line: 10, column: 35, message: expect.stringContaining("once ${API_TOKEN} is replaced") as string }),
    ]);
    expect(error.message).not.toContain("s3cret");
  });

  it.each([
    ["YAML flow maps", "{".repeat(10_000), "yaml"],
    ["YAML flow sequences", "steps: " + "[".repeat(5_000), "yaml"],
    ["JSON arrays", "[".repeat(10_000), "json"],
  ] as const)("refuses %s nested thousands deep, before parsing them, at the bracket past the limit", (_, text, format) => {
    // Parsed, this depth exhausts the stack inside the YAML parser, which V8 turns into an abort.
    const issues = issuesOf(text, { source: "deep.yaml", format });
    expect(issues).toHaveLength(1);
    expect(issues[0]?.message).toMatch(/deeper than 64 levels/);
    expect(issues[0]?.line).toBe(1);
  });

  it("counts brackets in quoted strings and comments as text, not nesting", () => {
    const quoted = lines("name: q", "version: 1", `description: "${"[".repeat(200)}"`, `# ${"{".repeat(200)}`, "steps:", "  - name: a", "    wait: {}");
    expect(parseDefinitionDocument(quoted, { source: "quoted.yaml" }).description).toBe("[".repeat(200));
  });

  it("reads the message as `file:line:column field problem`", () => {
    const error = documentErrorOf(() => parseDefinitionDocument(edit(7, "        method: FETCH"), { source: "order.yaml" }));
    expect(error.message).toContain('order.yaml:7:17 steps[0].action.http.method must be one of GET, POST, PUT, PATCH, DELETE, got "FETCH"');
    expect(error.field).toBe("steps[0].action.http.method");
    expect(formatIssue({ field: "", message: "is empty" })).toBe("document is empty");
  });

  it("lists every problem at once, in the order they are written", () => {
    const text = lines(
      "name: order",
      'version: "2"',
      "steps:",
      "  - name: A",
      "    action: { http: { method: FETCH, url: https://a.example } }",
      "  - name: A",
      "    wait: {}",
      "    pivot: yes",
    );
    const issues = issuesOf(text);
    expect(issues.map((issue) => [issue.field, issue.line, issue.column])).toEqual([
      ["version", 2, 10],
      ["steps[0].action.http.method", 5, 31],
      ["steps[1].name", 6, 11],
      ["steps[1].pivot", 8, 12],
    ]);
  });

  it("refuses more than MAX_STEPS steps and texts over 1 MiB", () => {
    const steps = Array.from({ length: MAX_STEPS + 1 }, (_, index) => `  - { name: s${index}, wait: {} }`);
    expect(issuesOf(lines("name: big", "version: 1", "steps:", ...steps))).toEqual([
      { source: "order.yaml", field: "steps", line: 4, column: 3, message: `must have at most ${MAX_STEPS} items, has ${MAX_STEPS + 1}` },
    ]);
    const huge = lines(...BASE, `description: "${"x".repeat(MAX_DOCUMENT_BYTES)}"`);
    expect(issuesOf(huge)).toEqual([{ source: "order.yaml", field: "", message: `is ${Buffer.byteLength(huge)} bytes long; at most ${MAX_DOCUMENT_BYTES} (1 MiB) are read` }]);
  });

  it("leaves YAML 1.1's extra types as strings: dates and yes/no are not converted", () => {
    const document = parseDefinitionDocument(insertAfter(2, "description: 2024-01-01"), { source: "order.yaml" });
    expect(document.description).toBe("2024-01-01");
    // `yes` is a string in YAML 1.2, so `pivot: yes` is refused as not a boolean rather than read as true.
    expect(issuesOf(insertAfter(13, "    pivot: yes"))).toEqual([expect.objectContaining({ field: "steps[1].pivot", message: 'must be true or false, got "yes"' })]);
  });

  it("accepts aliases used for reuse (well under the expansion limit)", () => {
    const text = lines(
      "name: order",
      "version: 1",
      "steps:",
      "  - { name: A, wait: {}, retry: &fast { maxAttempts: 2, initialDelayMs: 1 } }",
      "  - { name: B, wait: {}, retry: *fast }",
    );
    expect(parseDefinitionDocument(text).steps[1]?.retry).toEqual({ maxAttempts: 2, initialDelayMs: 1 });
  });
});

describe("parseDefinitionDocument: JSON", () => {
  const JSON_BASE = [
    "{", // 1
    '  "name": "order",', // 2
    '  "version": 1,', // 3
    '  "steps": [', // 4
    "    {", // 5
    '      "name": "ReservePayment",', // 6
    '      "action": { "http": { "method": "POST", "url": "https://payments.example/payments" } }', // 7
    "    }", // 8
    "  ]", // 9
    "}", // 10
  ];
  const jsonEdit = (line: number, ...text: string[]): string => lines(...JSON_BASE.slice(0, line - 1), ...text, ...JSON_BASE.slice(line));

  it("reports schema errors with their line and column", () => {
    const text = jsonEdit(7, '      "action": { "http": { "method": "FETCH", "url": "https://payments.example/payments" } }');
    expect(issuesOf(text, { source: "order.json" })).toEqual([
      { source: "order.json", field: "steps[0].action.http.method", line: 7, column: 39, message: 'must be one of GET, POST, PUT, PATCH, DELETE, got "FETCH"' },
    ]);
  });

  it("refuses a duplicate key, which JSON.parse would silently take the last of", () => {
    const text = jsonEdit(3, '  "version": 1,', '  "version": 2,');
    expect(issuesOf(text, { source: "order.json" })).toEqual([{ source: "order.json", field: "version", line: 4, column: 3, message: expect.stringContaining("is written twice") as string }]);
  });

  it("refuses what is not strict JSON (a trailing comma), at the offending character", () => {
    const text = jsonEdit(8, "    },");
    expect(issuesOf(text, { source: "order.json" })).toEqual([
      { source: "order.json", field: "", line: 9, column: 3, message: 'is not valid JSON: expected a value (object, array, string, number, true, false or null), found "]"' },
    ]);
  });

  it("detects JSON by content when neither format nor a file name says", () => {
    expect(issuesOf("{ 'name': 1 }", {})).toEqual([{ field: "", line: 1, column: 3, message: expect.stringContaining("is not valid JSON: expected a string in double quotes") as string }]);
  });

  it("checks data given as a value the same way, with fields but no lines", () => {
    const error = documentErrorOf(() => parseDefinitionValue({ name: "order", version: 1, steps: [{ name: "A", wait: {}, timeoutMs: 3 }] }, { source: "PUT body" }));
    expect(error.issues).toEqual([{ source: "PUT body", field: "steps[0].timeoutMs", message: expect.stringContaining("does not apply to a waiting step") as string }]);
    expect(documentErrorOf(() => parseDefinitionValue({ name: "order", version: Number.NaN, steps: [] })).issues).toEqual([{ field: "version", message: "is NaN, which JSON cannot hold" }]);
  });
});

describe("parseDefinitionDocument: hazards", () => {
  it("refuses nesting deeper than 64 levels, in YAML and in JSON", () => {
    const deep = `${"[".repeat(70)}1${"]".repeat(70)}`;
    expect(issuesOf(edit(9, `        body: ${deep}`))).toEqual([expect.objectContaining({ line: 9, message: "nests deeper than 64 levels" })]);
    expect(issuesOf(`{"name": ${deep}}`, { source: "deep.json" })).toEqual([expect.objectContaining({ line: 1, message: "is not valid JSON: nests deeper than 64 levels" })]);
  });

  it("keeps a __proto__ key as data, never as the prototype", () => {
    const document = parseDefinitionDocument(edit(9, '        body: { __proto__: { polluted: true }, orderId: "{{ input.orderId }}" }'));
    const body = document.steps[0]?.action?.http.body as Record<string, unknown>;
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
    expect(Object.hasOwn(body, "__proto__")).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses an input schema that refers outside itself", () => {
    const text = insertAfter(2, "input:", "  $ref: https://schemas.example/order.json");
    expect(issuesOf(text)).toEqual([expect.objectContaining({ field: "input", line: 4, column: 3, message: expect.stringContaining("can't resolve reference https://schemas.example/order.json") as string })]);
  });

  it("replaces several variables in one URL, and refuses a value holding a placeholder", () => {
    const document = parseDefinitionDocument(edit(8, "        url: ${SCHEME_HOST}/${TENANT}/payments"));
    const saga = buildDeclarativeSaga(document, { variables: { SCHEME_HOST: "https://payments.example", TENANT: "acme" } });
    expect(saga.steps[0]?.plan.name).toBe("ReservePayment");
    const error = documentErrorOf(() => buildDeclarativeSaga(document, { variables: { SCHEME_HOST: "https://payments.example", TENANT: "{{ input.tenant }}" } }));
    expect(error.issues).toEqual([expect.objectContaining({ field: "steps[0].action.http.url", line: 8, column: 14, message: expect.stringContaining("uses ${TENANT}, whose value holds") as string })]);
  });
});
