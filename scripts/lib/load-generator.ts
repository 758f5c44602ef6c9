/**
 * Runs autocannon in a process of its own: `tsx scripts/lib/load-generator.ts <spec.json>`.
 * The spec names the URL, connections, seconds and a file of request bodies (one JSON body per
 * line, sent in that order, cycling); the result is printed as one JSON line. The bench keeps
 * 100k-vector arrays and an embedding engine in its own heap; a load generator sharing that heap
 * measures the bench's garbage-collection pauses as server latency.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

export interface LoadSpec {
  readonly url: string;
  readonly connections: number;
  readonly seconds: number;
  readonly bodiesFile: string;
}

export interface LoadResult {
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadSpec;
const bodies = readFileSync(spec.bodiesFile, 'utf8').split('\n').filter((line) => line.length > 0);
let next = 0;
const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.seconds,
  timeout: 30,
  requests: [
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length] }),
    },
  ],
});
const out: LoadResult = {
  ok: result['2xx'],
  non2xx: result.non2xx,
  errors: result.errors,
  timeouts: result.timeouts,
  seconds: result.duration,
  p50: result.latency.p50,
  p99: result.latency.p99,
};
process.stdout.write(`${JSON.stringify(out)}\n`);
