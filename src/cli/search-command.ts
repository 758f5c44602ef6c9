/** `sextant search <collection> "query" [--mode dense|keyword|hybrid] [--k N] [--alpha A] [--explain] [--json]` */
import { InvalidInputError } from '../errors.ts';
import type { SearchHitOut } from '../search/query.ts';
import { configFrom, parse } from './args.ts';
import { openTarget } from './target.ts';

const MODES = ['dense', 'keyword', 'hybrid'] as const;

export async function searchCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    mode: { type: 'string', default: 'dense' },
    k: { type: 'string', default: '10' },
    alpha: { type: 'string' },
    explain: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  });
  const [collection, query] = positionals;
  if (!collection || !query) throw new InvalidInputError('usage: sextant search <collection> "query" [--mode dense|keyword|hybrid] [--k N] [--alpha A] [--explain] [--json]');
  const mode = MODES.find((m) => m === values.mode);
  if (!mode) throw new InvalidInputError(`--mode must be one of ${MODES.join(', ')}`);
  const k = Number(values.k);
  if (!Number.isInteger(k) || k < 1) throw new InvalidInputError('--k must be a positive integer');
  const alpha = values.alpha === undefined ? undefined : Number(values.alpha);
  if (alpha !== undefined && !(alpha >= 0 && alpha <= 1)) throw new InvalidInputError('--alpha must be between 0 and 1');

  const target = await openTarget(configFrom(values));
  try {
    const res = await target.search(collection, { mode, query, k, alpha, includeText: true, explain: values.explain });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(res)}\n`);
      return;
    }
    process.stdout.write(`${res.results.length} results (${mode}, ${res.model}, ${res.took_ms} ms)\n`);
    res.results.forEach((r, i) => {
      const snippet = (r.title ? `${r.title} — ` : '') + (r.text ?? '');
      process.stdout.write(`${String(i + 1).padStart(3)}. ${r.score.toFixed(4)}  ${r.id}  ${snippet.replace(/\s+/g, ' ').slice(0, 100)}\n`);
      if (values.explain) process.stdout.write(explanationLines(r));
    });
  } finally {
    await target.close();
  }
}

/** The explanation under a hit: fusion, BM25 terms, the best passages (marked [[like this]]) and the query words that matter. */
function explanationLines(hit: SearchHitOut): string {
  const e = hit.explain;
  if (!e) return '';
  const lines: string[] = [];
  const h = e.hybrid;
  if (h) {
    const moved = (m: number | null) => (m === null ? 'absent' : m === 0 ? 'same' : m > 0 ? `up ${m}` : `down ${-m}`);
    lines.push(`hybrid: ${h.alpha} x dense ${h.dense_normalised.toFixed(3)} + ${(1 - h.alpha).toFixed(2)} x keyword ${h.keyword_normalised.toFixed(3)}; vs dense alone ${moved(h.moved_vs_dense)}, vs keyword alone ${moved(h.moved_vs_keyword)}`);
  }
  if (e.keyword?.terms) {
    // Terms in nearly every document get FTS5's floor IDF (1e-6): they are summed, not listed.
    const shown = [...e.keyword.terms].filter((t) => t.contribution >= 0.0005).sort((a, b) => b.contribution - a.contribution);
    const rest = e.keyword.terms.filter((t) => t.contribution > 0 && t.contribution < 0.0005).length;
    const terms = shown.map((t) => `${t.term} ${t.contribution.toFixed(3)} (tf ${t.tf}, df ${t.df})`);
    lines.push(`keyword ${e.keyword.score.toFixed(3)} = ${terms.join(' + ') || 'no term matches'}${rest ? ` + ${rest} common terms ~0` : ''}`);
  }
  if (e.dense?.passages && hit.text !== undefined) {
    for (const p of e.dense.passages.slice(0, 2)) {
      lines.push(`passage -${p.score.toFixed(4)} without it: [[${hit.text.slice(p.start, p.end).replace(/\s+/g, ' ').slice(0, 120)}]]`);
    }
  }
  if (e.dense?.query_terms) lines.push(`query words: ${e.dense.query_terms.slice(0, 5).map((t) => `${t.term} ${t.effect >= 0 ? '+' : ''}${t.effect.toFixed(4)}`).join(', ')}`);
  return lines.map((l) => `       ${l}\n`).join('');
}
