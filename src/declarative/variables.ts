/** The values `${NAME}` references resolve to, e.g. `process.env`. */
export type DefinitionVariables = Readonly<Record<string, string | undefined>>;

const REFERENCE = /\$\{([A-Z_][A-Z0-9_]*)\}/y;
const ANY_REFERENCE = /\$\{[A-Z_][A-Z0-9_]*\}/;

/**
 * The variable names `${NAME}` references in `text` name, in order. Throws a message (a string,
 * for the caller to attach to a field) at a `${` that opens no valid reference.
 */
export function variableNamesIn(text: string): string[] {
  const names: string[] = [];
  for (let at = text.indexOf("${"); at !== -1; at = text.indexOf("${", at + 1)) {
    REFERENCE.lastIndex = at;
    const match = REFERENCE.exec(text);
    if (match === null) {
      const close = text.indexOf("}", at);
      const written = text.slice(at, close === -1 ? at + 20 : Math.min(close + 1, at + 40));
      throw new VariableSyntaxError(
        `has ${JSON.stringify(written)}, which is no variable reference; write \${NAME} with NAME of capital letters, digits and '_', starting with a letter or '_' (e.g. \${PAYMENTS_URL})`,
      );
    }
    names.push(match[1] as string);
  }
  return names;
}

/** A `${` that starts no valid variable reference. */
export class VariableSyntaxError extends Error {
  override name = "VariableSyntaxError";
}

/** The first variable reference written in `text`, e.g. `${PAYMENTS_URL}`. */
export function firstVariableIn(text: string): string | undefined {
  return ANY_REFERENCE.exec(text)?.[0];
}

/** `text` with every `${NAME}` replaced by `valueOf(NAME, offset)`. */
export function replaceVariables(text: string, valueOf: (name: string, offset: number) => string): string {
  return text.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_, name: string, offset: number) => valueOf(name, offset));
}

/**
 * A value that passes for any variable while the document is checked without its variables: a
 * base URL at the start of a URL, a plain word anywhere else.
 */
export function standInFor(place: "url" | "header", offset: number): string {
  return place === "url" && offset === 0 ? "http://variable.invalid" : "variable";
}
