/**
 * Writes the data-directory fixture that tests/acceptance/datadir-compat.test.ts opens: run a
 * server of the version whose on-disk format is to be kept (its own checkout, data dir empty),
 * point this script at it, stop the server (so SQLite checkpoints its WAL), and copy the data dir
 * to tests/fixtures/datadir-<version>/. It talks HTTP only, so it works with any version.
 *
 *   SEXTANT_DATA_DIR=/tmp/fixture node <old checkout>/bin/sextant.js serve --port 18090 &
 *   npx tsx scripts/make-datadir-fixture.ts http://127.0.0.1:18090 tests/fixtures/datadir-0.1.0/expected.json
 *
 * expected.json records what that server answered; the test asks the current code the same.
 */
import { writeFile } from 'node:fs/promises';
import { mulberry32 } from '../src/util/random.ts';

const [url, out] = process.argv.slice(2);
if (!url || !out) throw new Error('usage: make-datadir-fixture.ts <server url> <expected.json>');

async function call(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(new URL(path, url), { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json: unknown = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const TOPICS = {
  aero: 'wing flutter supersonic panel shock boundary layer nozzle pressure lift drag'.split(' '),
  library: 'catalogue classification index retrieval citation librarian thesaurus indexing subject'.split(' '),
  heat: 'heat transfer laminar turbulent conduction convection temperature cooling plate'.split(' '),
};
const random = mulberry32(424242);
const documents = Array.from({ length: 60 }, (_, i) => {
  const topic = (Object.keys(TOPICS) as (keyof typeof TOPICS)[])[i % 3]!;
  const words = Array.from({ length: 14 }, () => TOPICS[topic][Math.floor(random() * TOPICS[topic].length)]!);
  return {
    id: `doc-${String(i).padStart(3, '0')}`,
    title: i % 4 === 0 ? `${topic} study ${i}` : undefined,
    text: words.join(' '),
    metadata: { topic, year: 1950 + (i % 30), featured: i % 5 === 0, tags: [topic, i % 2 ? 'odd' : 'even'] },
  };
});

await call('POST', '/v1/collections', { name: 'papers', hybrid_alpha: 0.4 });
await call('POST', '/v1/collections/papers/documents', { documents });
await call('POST', '/v1/collections/papers/documents/delete', { ids: ['doc-007'] });
await call('POST', '/v1/collections/papers/documents', { documents: [{ ...documents[8]!, text: `${documents[8]!.text} revised` }] });
// A second generation (and a retired first one) through a re-embedding job.
const job = (await call('POST', '/v1/collections/papers/reembed', { model: 'use-lite@1-int8' })) as { id: string };
for (;;) {
  const state = ((await call('GET', `/v1/jobs/${job.id}`)) as { state: string }).state;
  if (state === 'succeeded') break;
  if (state !== 'queued' && state !== 'running') throw new Error(`re-embedding ended ${state}`);
  await new Promise((r) => setTimeout(r, 100));
}
await call('POST', '/v1/collections', { name: 'notes' });
await call('POST', '/v1/collections/notes/documents', { documents: documents.slice(0, 10).map((d) => ({ id: d.id, text: d.text })) });

const searches = [
  { collection: 'papers', body: { query: 'wing flutter at supersonic speed', k: 5 } },
  { collection: 'papers', body: { query: 'library classification', mode: 'keyword', k: 5 } },
  { collection: 'papers', body: { query: 'heat transfer in laminar flow', mode: 'hybrid', k: 8, include_text: true } },
  { collection: 'papers', body: { query: 'citation index', k: 10, filter: { topic: 'library', year: { $gte: 1960 } } } },
  { collection: 'papers', body: { query: 'pressure', mode: 'hybrid', k: 5, filter: { $or: [{ featured: true }, { tags: 'odd' }] }, explain: true } },
  { collection: 'notes', body: { query: 'shock waves', k: 3 } },
];
const expected = {
  collections: await call('GET', '/v1/collections'),
  jobs: await call('GET', '/v1/jobs'),
  document: await call('GET', '/v1/collections/papers/documents/doc-008'),
  searches: await Promise.all(searches.map(async (s) => ({ ...s, response: await call('POST', `/v1/collections/${s.collection}/search`, s.body) }))),
};
await writeFile(out, `${JSON.stringify(expected, null, 2)}\n`);
console.log(`wrote ${out}`);
