/** One step down into a JSON value: an object member or an array index. */
export type PathSegment = string | number;

/** The same rule as the HTTP participants' field paths, so their errors map back onto the document. */
const IDENTIFIER = /^[A-Za-z_$][\w$-]*$/;

/**
 * A path for messages, as the DSL writes them: `steps[1].action.http.method`,
 * `steps[0].action.http.headers["X Tenant"]`. The empty path (the whole document) is `""`.
 */
export function formatFieldPath(segments: readonly PathSegment[]): string {
  let text = "";
  for (const segment of segments) {
    if (typeof segment === "number") text += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) text += text === "" ? segment : `.${segment}`;
    else text += `[${JSON.stringify(segment)}]`;
  }
  return text;
}

/** `parent` extended by one member or index. */
export function childField(parent: string, segment: PathSegment): string {
  if (typeof segment === "number") return `${parent}[${segment}]`;
  if (!IDENTIFIER.test(segment)) return `${parent}[${JSON.stringify(segment)}]`;
  return parent === "" ? segment : `${parent}.${segment}`;
}

const TOKEN = /\.([A-Za-z_$][\w$-]*)|\[(0|[1-9]\d*)\]|\[("(?:[^"\\]|\\.)*")\]/y;

/**
 * The segments of a path written by formatFieldPath (or by parseHttpCallSpec and the DSL, which
 * use the same notation); undefined when `field` is not such a path.
 */
export function parseFieldPath(field: string): PathSegment[] | undefined {
  if (field === "") return [];
  const segments: PathSegment[] = [];
  const head = /^[A-Za-z_$][\w$-]*/.exec(field);
  TOKEN.lastIndex = 0;
  if (head !== null) {
    segments.push(head[0]);
    TOKEN.lastIndex = head[0].length;
  }
  while (TOKEN.lastIndex < field.length) {
    const match = TOKEN.exec(field);
    if (match === null) return undefined;
    const [, dotted, index, quoted] = match;
    if (index !== undefined) segments.push(Number(index));
    else if (quoted !== undefined) segments.push(JSON.parse(quoted) as string);
    else segments.push(dotted ?? "");
  }
  return segments;
}

/** The segments of an Ajv `instancePath` (a JSON Pointer); array indexes become numbers. */
export function segmentsOfPointer(pointer: string, root: unknown): PathSegment[] {
  if (pointer === "") return [];
  const segments: PathSegment[] = [];
  let value = root;
  for (const raw of pointer.slice(1).split("/")) {
    const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(value) && /^(0|[1-9]\d*)$/.test(key)) {
      segments.push(Number(key));
      value = value[Number(key)] as unknown;
    } else {
      segments.push(key);
      value = typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    }
  }
  return segments;
}
