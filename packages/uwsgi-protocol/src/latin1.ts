// Buffer's latin1Slice/latin1Write are the fast paths under toString('latin1')/write(..., 'latin1') (no encoding
// lookup, no argument normalisation). They exist on every Node >= 0.x Buffer but are not in @types/node.
interface Latin1Buffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  latin1Write(value: string, offset: number, length?: number): number;
}

export function latin1Slice(buf: Buffer, start: number, end: number): string {
  return (buf as Latin1Buffer).latin1Slice(start, end);
}

export function latin1Write(buf: Buffer, value: string, offset: number): number {
  return (buf as Latin1Buffer).latin1Write(value, offset, value.length);
}

const NON_LATIN1 = /[^\u0000-\u00ff]/;

export function isLatin1(value: string): boolean {
  return !NON_LATIN1.test(value);
}

/** A Buffer view over any Uint8Array, without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
