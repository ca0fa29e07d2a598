/**
 * One record per line of JSON. Payload bytes (Buffers, Uint8Arrays) are written as {"$b": base64} and read back as
 * Buffers, byte for byte; JSON's own rendering of a Buffer (an array of numbers) would be large and lossy in type.
 */

const BYTES_KEY = '$b';

export function encodeRecord(value: unknown): string {
  return `${JSON.stringify(value, function replacer(this: Record<string, unknown>, key: string, v: unknown) {
    // `v` is already Buffer.toJSON()'s output; the holder still has the Buffer itself.
    const original = this[key];
    if (original instanceof Uint8Array) return { [BYTES_KEY]: Buffer.from(original.buffer, original.byteOffset, original.byteLength).toString('base64') };
    return v;
  })}\n`;
}

export function decodeRecord(line: string): unknown {
  return JSON.parse(line, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o[BYTES_KEY] === 'string' && Object.keys(o).length === 1) return Buffer.from(o[BYTES_KEY], 'base64');
    }
    return v;
  });
}
