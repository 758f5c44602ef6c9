// Unit: Sextant filters to Pinecone's filter syntax (src/index/pinecone/filter.ts).
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../../src/errors.ts';
import { toPineconeFilter } from '../../../../src/index/pinecone/filter.ts';

describe('toPineconeFilter', () => {
  it('translates to explicit Pinecone syntax', () => {
    expect(toPineconeFilter({ genre: 'drama' })).toEqual({ genre: { $eq: 'drama' } });
    expect(toPineconeFilter({ year: { $gte: 1, $lt: 5 } })).toEqual({ year: { $gte: 1, $lt: 5 } });
    expect(toPineconeFilter({ a: 1, b: { $ne: 'x' } })).toEqual({ $and: [{ a: { $eq: 1 } }, { b: { $ne: 'x' } }] });
    expect(toPineconeFilter({ $or: [{ a: 1 }, { b: { $in: ['x', 2] } }] })).toEqual({ $or: [{ a: { $eq: 1 } }, { b: { $in: ['x', 2] } }] });
    expect(toPineconeFilter({ $and: [{ a: true }] })).toEqual({ a: { $eq: true } });
  });

  it('rewrites booleans in $in/$nin, which Pinecone accepts only as strings and numbers', () => {
    expect(toPineconeFilter({ f: { $in: [true, 'x'] } })).toEqual({ $or: [{ f: { $eq: true } }, { f: { $in: ['x'] } }] });
    expect(toPineconeFilter({ f: { $in: [false] } })).toEqual({ f: { $eq: false } });
    expect(toPineconeFilter({ f: { $nin: [true, 3] } })).toEqual({ $and: [{ f: { $nin: [3] } }, { f: { $ne: true } }] });
  });

  it('reports filters that match everything ({}) or nothing (null)', () => {
    expect(toPineconeFilter({})).toEqual({});
    expect(toPineconeFilter({ f: { $nin: [] } })).toEqual({});
    expect(toPineconeFilter({ f: { $in: [] } })).toBeNull();
    expect(toPineconeFilter({ $and: [{ a: 1 }, { f: { $in: [] } }] })).toBeNull();
    expect(toPineconeFilter({ $or: [{ a: 1 }, { f: { $in: [] } }] })).toEqual({ a: { $eq: 1 } });
    expect(toPineconeFilter({ $or: [{ a: 1 }, {}] })).toEqual({});
  });

  it('rejects string range bounds with a message naming the path', () => {
    expect(() => toPineconeFilter({ name: { $gte: 'm' } })).toThrow(InvalidInputError);
    expect(() => toPineconeFilter({ name: { $gte: 'm' } })).toThrow(/filter\.name\.\$gte/);
  });
});
