/** Where strict JSON text goes wrong, and how. */
export interface JsonSyntaxError {
  /** 0-based offset into the text. */
  readonly offset: number;
  readonly message: string;
}

/** Deeper nesting is refused rather than risking the stack. */
export const MAX_JSON_DEPTH = 64;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
// JSON strings may not hold raw control characters (U+0000–U+001F); the class names them to refuse them.
// eslint-disable-next-line no-control-regex
const STRING_BODY = /(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*/y;
const LITERAL = /true|false|null/y;

/**
 * Checks that `text` is exactly one strict JSON value (RFC 8259: no comments, no trailing commas,
 * no single quotes), reporting the first offending offset; `JSON.parse` names none in most cases.
 * The values themselves are read by the YAML parser, which keeps their positions.
 */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let at = 0;
  const fail = (message: string): never => {
    throw Object.assign(new Error(message), { offset: at });
  };
  const skipSpace = (): void => {
    while (at < text.length && " \t\n\r".includes(text[at] as string)) at++;
  };
  const found = (): string => (at >= text.length ? "the end of the text" : JSON.stringify(text[at]));
  const match = (pattern: RegExp): boolean => {
    pattern.lastIndex = at;
    const result = pattern.exec(text);
    if (result === null || result[0] === "") return false;
    at += result[0].length;
    return true;
  };
  const string = (): void => {
    if (text[at] !== '"') fail(`expected a string in double quotes, found ${found()}`);
    at++;
    STRING_BODY.lastIndex = at;
    at += STRING_BODY.exec(text)?.[0].length ?? 0;
    if (text[at] !== '"') fail(at >= text.length ? "a string is not closed" : `a string holds ${found()}, which must be escaped (or is an unknown escape)`);
    at++;
  };
  const value = (depth: number): void => {
    if (depth > MAX_JSON_DEPTH) fail(`nests deeper than ${MAX_JSON_DEPTH} levels`);
    skipSpace();
    const char = text[at];
    if (char === "{") {
      at++;
      skipSpace();
      if (text[at] === "}") {
        at++;
        return;
      }
      for (;;) {
        skipSpace();
        string();
        skipSpace();
        if (text[at] !== ":") fail(`expected ':' after a member name, found ${found()}`);
        at++;
        value(depth + 1);
        skipSpace();
        if (text[at] === "}") {
          at++;
          return;
        }
        if (text[at] !== ",") fail(`expected ',' or '}' after a member, found ${found()}`);
        at++;
      }
    }
    if (char === "[") {
      at++;
      skipSpace();
      if (text[at] === "]") {
        at++;
        return;
      }
      for (;;) {
        value(depth + 1);
        skipSpace();
        if (text[at] === "]") {
          at++;
          return;
        }
        if (text[at] !== ",") fail(`expected ',' or ']' after an item, found ${found()}`);
        at++;
      }
    }
    if (char === '"') return string();
    if (match(NUMBER) || match(LITERAL)) return;
    fail(`expected a value (object, array, string, number, true, false or null), found ${found()}`);
  };
  try {
    if (text.charCodeAt(0) === 0xfeff) at = 1;
    value(0);
    skipSpace();
    if (at < text.length) fail(`expected the end of the text after the value, found ${found()}`);
    return undefined;
  } catch (error) {
    return { offset: (error as { offset: number }).offset, message: (error as Error).message };
  }
}
