// Tests src/store/vector-codec.ts: the on-disk vector format (little-endian float32 blobs) and the vector check.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { InvalidVectorError } from '../../../src/errors.ts';
import { DEFAULT_HNSW } from '../../../src/values/backend.ts';
import { DB_FILE, SqliteStore } from '../../../src/store/sqlite-store.ts';
import { decodeVector, encodeVector, validateVector } from '../../../src/store/vector-codec.ts';
import { bits } from '../../helpers/store.ts';

/** The reference encoding, written out float by float. */
function littleEndian(values: Float32Array): Buffer {
  const out = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => out.writeFloatLE(v, i * 4));
  return out;
}

const AWKWARD = Float32Array.from([0, -0, 1, -1 / 3, 1.401298464324817e-45, 3.4028234663852886e38, -Math.PI, 1e-30]);

describe('encodeVector', () => {
  it('writes little-endian float32 bytes, four per value', () => {
    const blob = encodeVector(AWKWARD);
    expect(blob.byteLength).toBe(AWKWARD.length * 4);
    expect(blob.equals(littleEndian(AWKWARD))).toBe(true);
    expect([...encodeVector(Float32Array.from([1]))]).toEqual([0x00, 0x00, 0x80, 0x3f]);
    expect(encodeVector(new Float32Array(0)).byteLength).toBe(0);
  });

  it('encodes only the view it is given, not the rest of its buffer', () => {
    const backing = new Float32Array(16).fill(9);
    const view = backing.subarray(5, 8);
    view.set([1, 2, 3]);
    expect(encodeVector(view).equals(littleEndian(Float32Array.from([1, 2, 3])))).toBe(true);
  });
});

describe('decodeVector', () => {
  it('round-trips bit-exactly, NaN payloads and signed zeros included', () => {
    expect(bits(decodeVector(encodeVector(AWKWARD)))).toEqual(bits(AWKWARD));
    const nan = new Float32Array(new Uint32Array([0x7fc00001, 0xffc00000]).buffer);
    expect(bits(decodeVector(encodeVector(nan)))).toEqual([0x7fc00001, 0xffc00000]);
    expect(decodeVector(new Uint8Array(0))).toHaveLength(0);
  });

  it('returns a fresh, aligned copy of a blob at any byte offset', () => {
    const bytes = littleEndian(Float32Array.from([1.5, -2.25, 4]));
    const shared = Buffer.alloc(bytes.length + 3);
    bytes.copy(shared, 3);
    const blob = shared.subarray(3); // byteOffset 3: not a valid Float32Array offset
    const decoded = decodeVector(blob);
    expect([...decoded]).toEqual([1.5, -2.25, 4]);
    expect(decoded.byteOffset).toBe(0);
    expect(decoded.buffer.byteLength).toBe(12);
    shared.fill(0);
    expect([...decoded]).toEqual([1.5, -2.25, 4]);
  });

  it('refuses a blob whose length is not a whole number of floats', () => {
    expect(() => decodeVector(new Uint8Array(6))).toThrow('corrupt vector blob of 6 bytes');
    expect(() => decodeVector(new Uint8Array(1))).toThrow(/corrupt vector blob/);
  });
});

describe('validateVector', () => {
  it('accepts a Float32Array of the generation dimensions with finite values', () => {
    expect(() => validateVector(Float32Array.from([1, -0, 3.4028234663852886e38]), 3, 'here')).not.toThrow();
  });

  it('refuses anything else with InvalidVectorError naming where and why', () => {
    expect(() => validateVector([1, 2, 3], 3, "document 'a'")).toThrow(InvalidVectorError);
    expect(() => validateVector(Float64Array.from([1, 2, 3]), 3, "document 'a'")).toThrow("document 'a': vector must be a Float32Array");
    expect(() => validateVector(undefined, 3, 'x')).toThrow(InvalidVectorError);
    expect(() => validateVector(Float32Array.from([1, 2]), 3, "document 'b'")).toThrow(
      "document 'b': vector has 2 dimensions, the generation has 3",
    );
    expect(() => validateVector(Float32Array.from([1, NaN, 3]), 3, 'v')).toThrow('v: vector holds NaN or Infinity at 1');
    expect(() => validateVector(Float32Array.from([1, 2, Infinity]), 3, 'v')).toThrow('at 2');
    expect(() => validateVector(Float32Array.from([-Infinity, 2, 3]), 3, 'v')).toThrow(InvalidVectorError);
  });
});

describe('the stored format', () => {
  it('is what the store writes to the vectors table and reads back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sextant-codec-'));
    const store = SqliteStore.open(dir);
    try {
      const gen = store.createCollection({
        name: 'c', modelTarget: 'default', model: 'm@1', dimensions: AWKWARD.length, backend: 'hnsw', hnsw: DEFAULT_HNSW, hybridAlpha: 0.5,
      }).generation.id;
      store.upsertDocuments('c', [{ id: 'a', text: 'x', contentHash: 'x', vectors: new Map([[gen, AWKWARD]]) }]);
      const db = new Database(join(dir, DB_FILE), { readonly: true });
      const row = db.prepare('SELECT vector FROM vectors WHERE generation = ? AND doc_id = ?').get(gen, 'a') as { vector: Buffer };
      db.close();
      expect(row.vector.equals(littleEndian(AWKWARD))).toBe(true);
      expect(bits(store.getVectors(gen, ['a']).get('a')!)).toEqual(bits(AWKWARD));
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
