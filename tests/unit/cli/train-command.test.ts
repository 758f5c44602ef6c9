// Tests src/cli/train-command.ts: `sextant train --url` against the real server (a private models folder: versions are written there), the fairness flags and their usage errors.
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import * as responses from '../../../src/api/responses.ts';
import type { RunningServer } from '../../../src/api/server.ts';
import { trainCommand } from '../../../src/cli/train-command.ts';
import { InvalidInputError } from '../../../src/errors.ts';
import { api, startTestServer, tempDir } from '../../helpers/server.ts';
import { captureStdout } from '../../helpers/stdout.ts';

const TOPICS = ['rivers and rain', 'songs and music', 'computers and code', 'food and cooking'];
const DOCS = Array.from({ length: 32 }, (_, i) => ({
  id: `d${String(i).padStart(2, '0')}`,
  text: `A short note number ${i} about ${TOPICS[i % TOPICS.length]}, and a few words on ${TOPICS[(i * 3) % TOPICS.length]}.`,
  metadata: { kind: i % TOPICS.length < 2 ? 'nature' : 'culture' },
}));

let dir: Awaited<ReturnType<typeof tempDir>>;
let server: RunningServer;

beforeAll(async () => {
  dir = await tempDir('sextant-train-cli-');
  const modelsDir = join(dir.path, 'models');
  await cp(inject('modelsDir'), modelsDir, { recursive: true });
  server = await startTestServer({ dataDir: join(dir.path, 'data'), modelsDir, threads: 1 });
  expect((await api(server.url, 'POST', '/v1/collections', { name: 'notes' })).status).toBe(201);
  expect((await api(server.url, 'POST', '/v1/collections/notes/documents', { documents: DOCS })).status).toBe(200);
});
afterAll(async () => {
  await server?.close();
  await dir?.remove();
});

const run = (argv: string[]) => captureStdout(() => trainCommand(argv));

describe('sextant train --fairness-group-by', () => {
  it('sends the check with its margin; the finished job carries its figures and the gate line', async () => {
    const job = responses.job.parse(JSON.parse(await run(['notes', '--epochs', '1', '--fairness-group-by', 'kind', '--fairness-margin', '0.5', '--json', '--url', server.url])));
    expect(job.state, job.error ?? '').toBe('succeeded');
    expect(job.params).toMatchObject({ fairness: { group_by: 'kind', margin: 0.5 } });
    expect(job.gate!.fairness).toMatchObject({ group_by: 'kind', margin: 0.5 });
    expect(job.gate!.reason).toContain("fairness by 'kind' (dense top 10)");
    // The text form prints the reason, fairness line included.
    const text = await run(['notes', '--epochs', '1', '--fairness-group-by', 'kind', '--follow', '--url', server.url]);
    expect(text).toMatch(/^gate (passed|failed): .*fairness by 'kind' \(dense top 10\).*margin 0\.05/m);
  });

  it('refuses a margin without a field, a margin that is not a number, and a field no document has', async () => {
    await expect(run(['notes', '--fairness-margin', '0.1', '--url', server.url])).rejects.toThrow(/--fairness-margin needs --fairness-group-by/);
    await expect(run(['notes', '--fairness-group-by', 'kind', '--fairness-margin', 'wide', '--url', server.url])).rejects.toThrow(InvalidInputError);
    await expect(run(['notes', '--fairness-group-by', 'kind', '--fairness-margin', '', '--url', server.url])).rejects.toThrow(/--fairness-margin must be a number/);
    await expect(run(['notes', '--fairness-group-by', 'colour', '--url', server.url])).rejects.toThrow(/no document of collection 'notes' has metadata field 'colour'/);
  });
});
