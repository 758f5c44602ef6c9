// src/training/pseudo-queries.ts: pseudo-queries per document and the split by document.
import { describe, expect, it } from 'vitest';
import { bodyWithoutTitle, pseudoQueries, splitByDocument, type SourceDocument } from '../../../src/training/pseudo-queries.ts';

const long = (seed: number) => Array.from({ length: 60 }, (_, i) => `w${seed}_${i}`).join(' ');
const docs: SourceDocument[] = [
  // Cranfield-style: the text starts with its title, full stops as separate tokens.
  { id: 'a', title: 'flow over a flat plate .', text: `flow over a flat plate . the boundary layer on a flat plate was studied in detail . ${long(1)} . results agree with theory within five percent .` },
  { id: 'b', title: 'Two words', text: `A sentence that is long enough to count. ${long(2)}` },
  { id: 'c', title: null, text: long(3) },
  { id: 'd', title: 'only the title here', text: 'only the title here' },
  { id: 'e', title: 'short body here', text: 'tiny' },
];

describe('pseudoQueries', () => {
  const queries = pseudoQueries(docs, { seed: 7 });
  const of = (id: string) => queries.filter((q) => q.docId === id).map((q) => q.text);

  it('uses a title of >= 3 words that is not the whole document, then three sentences or spans', () => {
    expect(of('a')[0]).toBe('flow over a flat plate .');
    expect(of('a')).toHaveLength(4);
    expect(of('b')).toHaveLength(3); // a 2-word title is not a query
    expect(of('c')).toHaveLength(3); // no title
    expect(of('d')).toHaveLength(0); // the title is the whole document
    expect(of('e')).toEqual(['short body here', 'tiny', 'tiny', 'tiny']); // spans of a 1-word body are the body
  });

  it('draws sentences of >= 5 words or spans of 6-20 words from the text without its title', () => {
    for (const id of ['a', 'b', 'c']) {
      const doc = docs.find((x) => x.id === id)!;
      const body = bodyWithoutTitle(doc.title, doc.text);
      const extra = of(id).slice(id === 'a' ? 1 : 0);
      for (const text of extra) {
        expect(body.includes(text)).toBe(true);
        const words = text.split(/\s+/).length;
        // A text without sentence punctuation (doc c) is one sentence.
        const isSentence = body.split(/(?<=[.!?])\s+/).includes(text) && words >= 5;
        expect(isSentence || (words >= 6 && words <= 20)).toBe(true);
      }
    }
    expect(bodyWithoutTitle(docs[0]!.title, docs[0]!.text).startsWith('the boundary layer')).toBe(true);
  });

  it('is deterministic for a seed and varies with it', () => {
    expect(pseudoQueries(docs, { seed: 7 })).toEqual(queries);
    const many = Array.from({ length: 20 }, (_, i) => ({ id: `x${i}`, title: null, text: long(i) }));
    expect(pseudoQueries(many, { seed: 1 })).not.toEqual(pseudoQueries(many, { seed: 2 }));
  });

  it('mixes sentences and spans about half and half', () => {
    const text = Array.from({ length: 30 }, (_, i) => `this is sentence number ${i} of the document.`).join(' ');
    const qs = pseudoQueries(Array.from({ length: 200 }, (_, i) => ({ id: String(i), title: null, text })), { seed: 3 });
    const sentences = qs.filter((q) => /^this is sentence number \d+ of the document\.$/.test(q.text)).length;
    expect(sentences / qs.length).toBeGreaterThan(0.4);
    expect(sentences / qs.length).toBeLessThan(0.6);
  });
});

describe('splitByDocument', () => {
  const many = Array.from({ length: 100 }, (_, i) => ({ id: `d${i}`, title: null, text: long(i) }));
  const queries = pseudoQueries(many, { seed: 7 });

  it('holds out every query of ~10% of the documents', () => {
    const split = splitByDocument(queries, { seed: 7 });
    expect(split.validationDocIds.size).toBe(10);
    expect(split.train.length + split.validation.length).toBe(queries.length);
    for (const q of split.validation) expect(split.validationDocIds.has(q.docId)).toBe(true);
    for (const q of split.train) expect(split.validationDocIds.has(q.docId)).toBe(false);
  });

  it('is deterministic for a seed', () => {
    expect([...splitByDocument(queries, { seed: 5 }).validationDocIds]).toEqual([...splitByDocument(queries, { seed: 5 }).validationDocIds]);
    expect([...splitByDocument(queries, { seed: 5 }).validationDocIds]).not.toEqual([...splitByDocument(queries, { seed: 6 }).validationDocIds]);
  });
});
