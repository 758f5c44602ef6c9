/** A large JSONL file for the streaming-ingest tests: reading all of it would fail, so a test that passes read only its start. */
import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';

/**
 * Writes `lines` documents of ~1 KB each (`_id` d0, d1, …) and then one invalid line; returns
 * the file's size. 40,000 lines make ~40 MB.
 */
export async function writeBigJsonl(path: string, lines: number): Promise<number> {
  const out = createWriteStream(path);
  const filler = 'lorem ipsum dolor sit amet '.repeat(37);
  for (let i = 0; i < lines; i++) {
    if (!out.write(`{"_id":"d${i}","text":"${i} ${filler}"}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  out.end('{not json at the end\n');
  await new Promise<void>((r) => out.once('close', () => r()));
  return (await stat(path)).size;
}
