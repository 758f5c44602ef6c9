/**
 * /v1/embeddings as real OpenAI clients call it: the official `openai` SDK (which asks for
 * base64 unless told otherwise) and LangChain's OpenAIEmbeddings, against a running server.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OpenAIEmbeddings } from '@langchain/openai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RunningServer } from '../../src/api/server.ts';
import { api, startTestServer, tempDir } from '../helpers/server.ts';
import { maxAbsDiff as maxAbsDiffOf } from '../helpers/vectors.ts';

const TEXTS = ['How do I reset my password?', 'Supersonic flutter of thin wings', 'A recipe for sourdough bread'];
const MODEL = 'use-lite@1';
/** use-lite@1 again, its manifest declaring Matryoshka sizes: exercises the `dimensions` cut. */
const MRL_MODEL = 'use-lite@mrl';
const MRL_SIZES = [256, 128];

let server: RunningServer;
let dir: { path: string; remove(): Promise<void> };
let openai: OpenAI;

function decodeBase64(value: string): Float32Array {
  const bytes = Buffer.from(value, 'base64');
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  return maxAbsDiffOf(a, b);
}

const norm = (v: ArrayLike<number>): number => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));

beforeAll(async () => {
  dir = await tempDir('sextant-openai-');
  const modelsDir = join(dir.path, 'models');
  await cp(inject('modelsDir'), modelsDir, { recursive: true });
  // The manifest is not checksummed (it holds the checksums), so a copy may declare other sizes.
  await cp(join(modelsDir, 'use-lite', '1'), join(modelsDir, 'use-lite', 'mrl'), { recursive: true });
  const manifestPath = join(modelsDir, 'use-lite', 'mrl', 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown>;
  await writeFile(manifestPath, JSON.stringify({ ...manifest, version: 'mrl', matryoshka: MRL_SIZES }));
  server = await startTestServer({ dataDir: join(dir.path, 'data'), modelsDir });
  openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused-without-keys', maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
  await dir?.remove();
});

describe('the openai SDK', () => {
  it('default call (base64 on the wire) equals the float call within 1e-6', async () => {
    const byDefault = await openai.embeddings.create({ model: MODEL, input: TEXTS });
    const floats = await openai.embeddings.create({ model: MODEL, input: TEXTS, encoding_format: 'float' });
    expect(byDefault.model).toBe(MODEL);
    expect(byDefault.data).toHaveLength(TEXTS.length);
    for (let i = 0; i < TEXTS.length; i++) {
      const a = byDefault.data[i]!.embedding;
      const b = floats.data[i]!.embedding;
      expect(Array.isArray(a)).toBe(true);
      expect(a).toHaveLength(512);
      expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(1e-6);
      expect(byDefault.data[i]!.index).toBe(i);
    }
    expect(byDefault.usage.total_tokens).toBeGreaterThan(0);
  });

  it('encoding_format base64 returns a string that decodes to the same floats', async () => {
    const [b64, floats] = await Promise.all([
      api<{ data: { embedding: string }[] }>(server.url, 'POST', '/v1/embeddings', { model: MODEL, input: TEXTS, encoding_format: 'base64' }),
      api<{ data: { embedding: number[] }[] }>(server.url, 'POST', '/v1/embeddings', { model: MODEL, input: TEXTS, encoding_format: 'float' }),
    ]);
    expect(b64.status).toBe(200);
    for (let i = 0; i < TEXTS.length; i++) {
      const encoded = b64.body.data[i]!.embedding;
      expect(typeof encoded).toBe('string');
      const decoded = decodeBase64(encoded);
      expect(decoded).toHaveLength(512);
      // base64 carries the float32 bytes exactly; JSON floats round-trip float32 exactly too.
      expect(maxAbsDiff(decoded, floats.body.data[i]!.embedding)).toBe(0);
    }
    // The SDK's explicit base64 request hands back the string as the server sent it.
    const viaSdk = await openai.embeddings.create({ model: MODEL, input: TEXTS[0]!, encoding_format: 'base64' });
    expect(typeof viaSdk.data[0]!.embedding).toBe('string');
    expect(maxAbsDiff(decodeBase64(viaSdk.data[0]!.embedding as unknown as string), floats.body.data[0]!.embedding)).toBe(0);
  });

  it('dimensions: the model size works; another size is a 400 naming the supported ones', async () => {
    const full = await openai.embeddings.create({ model: MODEL, input: TEXTS[0]!, dimensions: 512 });
    expect(full.data[0]!.embedding).toHaveLength(512);
    const err = await openai.embeddings.create({ model: MODEL, input: TEXTS[0]!, dimensions: 100 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    const bad = err as InstanceType<typeof OpenAI.BadRequestError>;
    expect(bad.status).toBe(400);
    expect(bad.message).toContain('512');
    expect(bad.message).toContain('100');
  });

  it('dimensions on a Matryoshka model: the leading components, renormalised', async () => {
    const full = await openai.embeddings.create({ model: MRL_MODEL, input: TEXTS, encoding_format: 'float' });
    for (const size of MRL_SIZES) {
      const cut = await openai.embeddings.create({ model: MRL_MODEL, input: TEXTS, dimensions: size });
      for (let i = 0; i < TEXTS.length; i++) {
        const v = cut.data[i]!.embedding;
        expect(v).toHaveLength(size);
        expect(norm(v)).toBeCloseTo(1, 5);
        const head = full.data[i]!.embedding.slice(0, size);
        const scale = norm(head);
        expect(maxAbsDiff(v, head.map((x) => x / scale))).toBeLessThanOrEqual(1e-6);
      }
    }
    const res = await api<{ error: { code: string; message: string; details: { supported: number[] } } }>(server.url, 'POST', '/v1/embeddings', {
      model: MRL_MODEL,
      input: 'x',
      dimensions: 300,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.supported).toEqual([512, 256, 128]);
    expect(res.body.error.message).toContain('512, 256, 128');
  });

  it('user is accepted and ignored', async () => {
    const withUser = await openai.embeddings.create({ model: MODEL, input: TEXTS[1]!, user: 'user-1234', encoding_format: 'float' });
    const without = await openai.embeddings.create({ model: MODEL, input: TEXTS[1]!, encoding_format: 'float' });
    expect(maxAbsDiff(withUser.data[0]!.embedding, without.data[0]!.embedding)).toBe(0);
  });
});

describe('LangChain OpenAIEmbeddings', () => {
  it('embedDocuments and embedQuery work and match the server', async () => {
    const embeddings = new OpenAIEmbeddings({ model: MODEL, apiKey: 'unused', configuration: { baseURL: `${server.url}/v1` }, maxRetries: 0 });
    const docs = await embeddings.embedDocuments(TEXTS);
    expect(docs).toHaveLength(TEXTS.length);
    const query = await embeddings.embedQuery(TEXTS[2]!);
    expect(query).toHaveLength(512);
    const direct = await api<{ data: { embedding: number[] }[] }>(server.url, 'POST', '/v1/embeddings', { model: MODEL, input: TEXTS });
    for (let i = 0; i < TEXTS.length; i++) expect(maxAbsDiff(docs[i]!, direct.body.data[i]!.embedding)).toBeLessThanOrEqual(1e-6);
    expect(maxAbsDiff(query, direct.body.data[2]!.embedding)).toBeLessThanOrEqual(1e-6);
  });
});

describe('bad input on the OpenAI options: a 400 that says what is wrong', () => {
  async function expect400(body: unknown, ...fragments: string[]): Promise<void> {
    const res = await api<{ error: { code: string; message: string } }>(server.url, 'POST', '/v1/embeddings', body);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.error.code).toBe('invalid_input');
    for (const f of fragments) expect(res.body.error.message).toContain(f);
  }

  it('encoding_format other than float or base64', async () => {
    await expect400({ input: 'x', encoding_format: 'binary' }, 'encoding_format', 'float', 'base64');
    await expect400({ input: 'x', encoding_format: 7 }, 'encoding_format');
  });

  it('dimensions that are not a positive whole number, or not supported', async () => {
    for (const dimensions of [0, -3, 1.5, '512', null]) await expect400({ input: 'x', dimensions }, 'dimensions');
    await expect400({ input: 'x', dimensions: 1024 }, 'dimensions', '512');
  });

  it('token id arrays: Sextant takes text', async () => {
    await expect400({ input: [101, 2023, 102] }, 'text');
    await expect400({ input: [[101, 2023, 102], [101, 102]] }, 'text');
  });

  it('user of the wrong type, and unknown fields, are still refused by name', async () => {
    await expect400({ input: 'x', user: 42 }, 'user');
    await expect400({ input: 'x', truncate: true }, 'truncate');
  });
});
