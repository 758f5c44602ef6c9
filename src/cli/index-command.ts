/**
 * `sextant index <collection> <file.jsonl | file.csv> [--id-field] [--text-field] [--title-field] [--batch-size]`
 * Creates the collection if needed; rerunning after an interruption skips what is already indexed.
 * The file is streamed: a few batches are in memory at a time, progress is shown by bytes of the
 * file, and a bad row stops the run there (what was sent before it stays indexed; a rerun after
 * the fix skips it).
 */
import { InvalidInputError } from '../errors.ts';
import { bulkIndex } from '../ingest/bulk.ts';
import { openRecords } from '../ingest/records.ts';
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

  const records = await openRecords(file, {
    id: values['id-field'],
    text: values['text-field'] ?? 'text',
    title: values['title-field'],
  });
  const config = configFrom(values);
  const target = await openTarget(config);
  try {
    const bar = progressBar(`indexing ${collection}`);
    const result = await bulkIndex(target, collection, records, { batchSize, concurrency, bytes: records, onProgress: (p) => bar.update(p) });
    bar.finish(result);
    process.stdout.write(
      `${JSON.stringify({ collection, documents: records.documents, upserted: result.upserted, unchanged: result.unchanged, skipped_empty: records.skippedEmpty, docs_per_s: Math.round(result.docsPerSecond * 10) / 10 })}\n`,
    );
  } finally {
    await target.close();
  }
}
