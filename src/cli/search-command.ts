/** `sextant search <collection> "query" [--mode dense|keyword|hybrid] [--k N] [--alpha A] [--json]` */
import { InvalidInputError } from '../errors.ts';
import { configFrom, parse } from './args.ts';
import { openTarget } from './target.ts';

const MODES = ['dense', 'keyword', 'hybrid'] as const;

export async function searchCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    mode: { type: 'string', default: 'dense' },
    k: { type: 'string', default: '10' },
    alpha: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const [collection, query] = positionals;
  if (!collection || !query) throw new InvalidInputError('usage: sextant search <collection> "query" [--mode dense|keyword|hybrid] [--k N] [--json]');
  const mode = MODES.find((m) => m === values.mode);
  if (!mode) throw new InvalidInputError(`--mode must be one of ${MODES.join(', ')}`);
  const k = Number(values.k);
  if (!Number.isInteger(k) || k < 1) throw new InvalidInputError('--k must be a positive integer');
  const alpha = values.alpha === undefined ? undefined : Number(values.alpha);
  if (alpha !== undefined && !(alpha >= 0 && alpha <= 1)) throw new InvalidInputError('--alpha must be between 0 and 1');

  const target = await openTarget(configFrom(values));
  try {
    const res = await target.search(collection, { mode, query, k, alpha, includeText: true });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(res)}\n`);
      return;
    }
    process.stdout.write(`${res.results.length} results (${mode}, ${res.model}, ${res.took_ms} ms)\n`);
    res.results.forEach((r, i) => {
      const snippet = (r.title ? `${r.title} — ` : '') + (r.text ?? '');
      process.stdout.write(`${String(i + 1).padStart(3)}. ${r.score.toFixed(4)}  ${r.id}  ${snippet.replace(/\s+/g, ' ').slice(0, 100)}\n`);
    });
  } finally {
    await target.close();
  }
}
