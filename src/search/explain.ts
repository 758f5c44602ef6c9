/**
 * Why a document scored what it did against a query, for the dense side, by occlusion: which
 * passages of the document carry the similarity (its sentences, or windows of words for long
 * ones: the document embedded again without each one), and which query words do (the query
 * embedded again without each word). Each passage's own similarity to the query is reported
 * too, but it does not rank them: on 50 Cranfield queries, taking out the sentence most similar
 * to the query lowered the top hit's score more than a random other sentence in only 35 of 50
 * cases, because a sentence close to the query can repeat what the rest of the document already
 * says (tests/acceptance/explain.test.ts). Each group of texts (passages alone, the document
 * without each passage, the query without each word) is one engine call, so they share its
 * batches; a passage costs one embedding of the document without it. The keyword side is BM25's
 * own sum (store/keyword.ts).
 */
import type { EmbeddingEngine } from '../embedding/engine.ts';
import { cosine } from '../util/vectors.ts';
import { embeddingText } from './documents.ts';

export interface PassageScore {
  /** Character offsets into the document's text ([start, end)). */
  readonly start: number;
  readonly end: number;
  /** How much the document's dense score falls when it is embedded without this passage (the ranking). */
  readonly score: number;
  /** Cosine similarity of the passage alone to the query. */
  readonly similarity: number;
}

export interface QueryTermEffect {
  readonly term: string;
  /** How much the dense score falls when the query is embedded without this word (negative: it rises). */
  readonly effect: number;
}

export interface DenseExplanation {
  readonly score: number;
  readonly passages: readonly PassageScore[];
  readonly query_terms: readonly QueryTermEffect[];
}

/** Sentences longer than this many words are cut into windows: one long sentence would otherwise be the whole document. */
const LONG_SENTENCE_WORDS = 48;
const WINDOW_WORDS = 32;
/** Bounds the cost of a long document or query (each passage and query word is one more text to embed). */
const MAX_PASSAGES = 64;
const MAX_QUERY_WORDS = 32;

export interface Span {
  readonly start: number;
  readonly end: number;
}

/**
 * A text's sentences as character spans, trimmed: a sentence ends at . ! or ? followed by
 * whitespace or the end (so "1.5" stays whole), or at a line break. Sentences of more than
 * LONG_SENTENCE_WORDS words become consecutive windows of WINDOW_WORDS words.
 */
export function passageSpans(text: string): Span[] {
  const sentences: Span[] = [];
  let start = 0;
  const push = (end: number) => {
    let s = start;
    let e = end;
    while (s < e && /\s/.test(text[s]!)) s++;
    while (e > s && /\s/.test(text[e - 1]!)) e--;
    if (e > s && /[\p{L}\p{N}]/u.test(text.slice(s, e))) sentences.push({ start: s, end: e });
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\n' || ((ch === '.' || ch === '!' || ch === '?') && (i + 1 === text.length || /\s/.test(text[i + 1]!)))) {
      push(i + 1);
      start = i + 1;
    }
  }
  push(text.length);
  const out: Span[] = [];
  for (const sentence of sentences) {
    const words = [...text.slice(sentence.start, sentence.end).matchAll(/\S+/g)];
    if (words.length <= LONG_SENTENCE_WORDS) {
      out.push(sentence);
      continue;
    }
    for (let w = 0; w < words.length; w += WINDOW_WORDS) {
      const first = words[w]!;
      const last = words[Math.min(words.length, w + WINDOW_WORDS) - 1]!;
      out.push({ start: sentence.start + first.index!, end: sentence.start + last.index! + last[0].length });
    }
  }
  return out.slice(0, MAX_PASSAGES);
}

/** The distinct words of a query (lower-cased, in order of first appearance). */
export function queryWords(query: string): string[] {
  return [...new Set((query.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []))].slice(0, MAX_QUERY_WORDS);
}

/** The text without one span, spaces collapsed. */
export function withoutSpan(text: string, span: Span): string {
  return `${text.slice(0, span.start)} ${text.slice(span.end)}`.replace(/\s+/g, ' ').trim();
}

/** The query without every occurrence of `word` (whole words, any case), spaces collapsed. */
export function withoutWord(query: string, word: string): string {
  return query
    .replace(/[\p{L}\p{N}]+/gu, (w) => (w.toLowerCase() === word ? ' ' : w))
    .replace(/\s+/g, ' ')
    .trim();
}

/** What occlusion needs once per query: the query's vector and, per word, the vector of the query without it. */
export interface QueryOcclusion {
  readonly vector: Float32Array;
  readonly variants: readonly { readonly term: string; readonly vector: Float32Array | null }[];
}

export async function queryOcclusion(engine: EmbeddingEngine, query: string, vector: Float32Array): Promise<QueryOcclusion> {
  const words = queryWords(query);
  const texts = words.map((w) => withoutWord(query, w));
  const nonEmpty = texts.map((t, i) => [t, i] as const).filter(([t]) => t.length > 0);
  const embedded = nonEmpty.length ? (await engine.embed(nonEmpty.map(([t]) => t), 'query')).vectors : [];
  const byIndex = new Map(nonEmpty.map(([, i], j) => [i, embedded[j]!]));
  // A one-word query without its word is no query: its effect is the whole score (vector null).
  return { vector, variants: words.map((term, i) => ({ term, vector: byIndex.get(i) ?? null })) };
}

/**
 * Dense explanations of several documents for one query. `documents`: the title and text as
 * stored (embedded as the index embeds them) and the stored vector the search compared.
 */
export async function explainDense(
  engine: EmbeddingEngine,
  occlusion: QueryOcclusion,
  documents: readonly { readonly title: string | null; readonly text: string; readonly vector: Float32Array }[],
): Promise<DenseExplanation[]> {
  const spans = documents.map((d) => passageSpans(d.text));
  const alone = documents.flatMap((d, i) => spans[i]!.map((s) => d.text.slice(s.start, s.end)));
  const without = documents.flatMap((d, i) => spans[i]!.map((s) => embeddingText({ title: d.title, text: withoutSpan(d.text, s) }).trim()));
  const embed = async (texts: string[]) => (texts.length ? (await engine.embed(texts, 'document')).vectors : []);
  const aloneVectors = await embed(alone);
  // A document that is nothing but this passage has nothing left to embed without it: it loses its whole score.
  const kept = without.map((t, j) => [t, j] as const).filter(([t]) => t.length > 0);
  const keptVectors = await embed(kept.map(([t]) => t));
  const withoutVectors = new Map(kept.map(([, j], n) => [j, keptVectors[n]!]));
  let at = 0;
  return documents.map((doc, i) => {
    const score = cosine(occlusion.vector, doc.vector);
    const passages = spans[i]!.map((s) => {
      const j = at++;
      return { start: s.start, end: s.end, score: score - (withoutVectors.has(j) ? cosine(occlusion.vector, withoutVectors.get(j)!) : 0), similarity: cosine(occlusion.vector, aloneVectors[j]!) };
    });
    passages.sort((a, b) => b.score - a.score || a.start - b.start);
    const query_terms = occlusion.variants.map((v) => ({ term: v.term, effect: score - (v.vector ? cosine(v.vector, doc.vector) : 0) }));
    query_terms.sort((a, b) => b.effect - a.effect);
    return { score, passages, query_terms };
  });
}
