/**
 * Vectors as stored: little-endian float32 blobs (the `vectors` and `drift_references` tables),
 * and the check a vector passes before it is written. Separate because two repositories (documents
 * and drift) write vectors and must agree on the bytes, and because the byte format is part of the
 * on-disk format: changing it here changes every existing data directory.
 */
import { endianness } from 'node:os';
import { InvalidVectorError } from '../errors.ts';

const LITTLE_ENDIAN = endianness() === 'LE';

/** Little-endian float32 bytes; better-sqlite3 copies the bytes when it binds them. */
export function encodeVector(vector: Float32Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
  const out = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i++) out.writeFloatLE(vector[i], i * 4);
  return out;
}

/** A fresh, aligned copy: the blob's Buffer may sit at any byte offset of a shared allocation. */
export function decodeVector(blob: Uint8Array): Float32Array {
  if (blob.byteLength % 4 !== 0) throw new Error(`corrupt vector blob of ${blob.byteLength} bytes`);
  const out = new Float32Array(blob.byteLength / 4);
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(blob);
  } else {
    const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}

/** A Float32Array of exactly `dimensions` finite values, or InvalidVectorError naming `where`. */
export function validateVector(vector: unknown, dimensions: number, where: string): asserts vector is Float32Array {
  if (!(vector instanceof Float32Array)) throw new InvalidVectorError(`${where}: vector must be a Float32Array`);
  if (vector.length !== dimensions) {
    throw new InvalidVectorError(`${where}: vector has ${vector.length} dimensions, the generation has ${dimensions}`);
  }
  for (let i = 0; i < vector.length; i++) {
    if (!Number.isFinite(vector[i])) throw new InvalidVectorError(`${where}: vector holds NaN or Infinity at ${i}`);
  }
}
