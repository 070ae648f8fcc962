/** A value that survives `JSON.stringify` → `JSON.parse` unchanged; everything persisted is one. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
