import { describe, expect, it } from "vitest";
import { TextBlob } from "../../src/store/postgres/text-blob.js";

/** What the server's `substring(blob FROM offset FOR length)` and `convert_from(…, 'UTF8')` give back. */
function slice(buffer: Buffer, offset: number, length: number): string {
  return buffer.subarray(offset - 1, offset - 1 + length).toString("utf8");
}

describe("TextBlob", () => {
  it("cuts every text back out by its 1-based byte offset and byte length, multi-byte characters included", () => {
    const texts = ['{"sku":"tea-☕-ü"}', "", "plain", '{"note":"🧾 receipt","quote":"say \\"hi\\""}', "\u0000"];
    const blob = new TextBlob();
    const indexes = texts.map((text) => blob.add(text));
    const buffer = blob.toBuffer();
    expect(buffer.length).toBe(texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0));
    indexes.forEach((index, i) => expect(slice(buffer, blob.offsets[index] ?? 0, blob.lengths[index] ?? 0)).toBe(texts[i]));
  });

  it("keeps a text that ends in half a surrogate pair apart from the next one's other half", () => {
    const blob = new TextBlob();
    const first = blob.add("a\ud83e");
    const second = blob.add("\uddfeb");
    const buffer = blob.toBuffer();
    // Each half is encoded on its own (as U+FFFD), exactly as its length was measured.
    expect(slice(buffer, blob.offsets[first] ?? 0, blob.lengths[first] ?? 0)).toBe("a\ufffd");
    expect(slice(buffer, blob.offsets[second] ?? 0, blob.lengths[second] ?? 0)).toBe("\ufffdb");
  });
});
