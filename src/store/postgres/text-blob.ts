/**
 * Many texts (states and history entries as JSON) sent to PostgreSQL as one binary `bytea`
 * parameter with their byte offsets and lengths, cut apart on the server with
 * `convert_from(substring(blob FROM offset FOR length), 'UTF8')` (see `sliceSql`).
 *
 * Why not a `text[]` parameter: the driver sends arrays as array literals, escaping every quote
 * and backslash of every element in JavaScript; for JSON, which is mostly quotes, that was the
 * largest single cost of a group commit on the client. A `bytea` parameter goes as raw bytes, so
 * the texts are joined once and encoded once, natively. (A `json` parameter would avoid the
 * escaping too, but PostgreSQL refuses to extract from a document holding the `\u0000` escape
 * that JSON.stringify produces for a NUL character, which states may legitimately contain.)
 */
export class TextBlob {
  readonly #parts: string[] = [];
  /** 1-based byte offsets, as SQL's substring counts. */
  readonly offsets: number[] = [];
  readonly lengths: number[] = [];
  #bytes = 0;

  /** Adds one text; returns its index. */
  add(text: string): number {
    const length = Buffer.byteLength(text, "utf8");
    this.#parts.push(text);
    this.offsets.push(this.#bytes + 1);
    this.lengths.push(length);
    this.#bytes += length;
    return this.#parts.length - 1;
  }

  /**
   * The texts as one UTF-8 buffer (a binary parameter). Each is encoded on its own, exactly as
   * `add` measured it, so a text ending in half a surrogate pair cannot merge with the next one.
   */
  toBuffer(): Buffer {
    const buffer = Buffer.allocUnsafe(this.#bytes);
    this.#parts.forEach((text, index) => buffer.write(text, (this.offsets[index] ?? 1) - 1, "utf8"));
    return buffer;
  }
}

/** SQL for the text at byte `offset` (1-based) of `length` bytes in the blob parameter `blob`. */
export function sliceSql(blob: string, offset: string, length: string): string {
  return `convert_from(substring(${blob} FROM ${offset} FOR ${length}), 'UTF8')`;
}
