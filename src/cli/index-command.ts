/**
 * `sextant index <collection> <file.jsonl | file.csv> [--id-field] [--text-field] [--title-field] [--batch-size]`
 * Creates the collection if needed; rerunning after an interruption skips what is already indexed.
 */
import { InvalidInputError } from '../errors.ts';
import { bulkIndex } from '../ingest/bulk.ts';
import { readRecords } from '../ingest/records.ts';
import { configFrom, parse } from './args.ts';
import { progressBar } from './progress.ts';
import { openTarget } from './target.ts';

const USAGE = 'usage: sextant index <collection> <file.jsonl|file.csv> [--id-field F] [--text-field F] [--title-field F] [--batch-size N] [--url URL]';

export async function indexCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    'id-field': { type: 'string' },
    'text-field': { type: 'string', default: 'text' },
    'title-field': { type: 'string' },
    'batch-size': { type: 'string', default: '64' },
    concurrency: { type: 'string', default: '3' },
  });
  const [collection, file] = positionals;
  if (!collection || !file) throw new InvalidInputError(USAGE);
  const batchSize = Number(values['batch-size']);
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidInputError('--batch-size must be a positive integer');
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidInputError('--concurrency must be a positive integer');

  const { documents, skippedEmpty } = await readRecords(file, {
    id: values['id-field'],
    text: values['text-field'] ?? 'text',
    title: values['title-field'],
  });
  const config = configFrom(values);
  const target = await openTarget(config);
  try {
    const bar = progressBar(`indexing ${collection}`);
    const result = await bulkIndex(target, collection, documents, { batchSize, concurrency, onProgress: (p) => bar.update(p) });
    bar.finish(result);
    process.stdout.write(
      `${JSON.stringify({ collection, documents: documents.length, upserted: result.upserted, unchanged: result.unchanged, skipped_empty: skippedEmpty, docs_per_s: Math.round(result.docsPerSecond * 10) / 10 })}\n`,
    );
  } finally {
    await target.close();
  }
}
