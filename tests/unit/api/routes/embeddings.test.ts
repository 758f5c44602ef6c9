// Tests src/api/routes/embeddings.ts: POST /v1/embeddings in the OpenAI shape, through app.request().
import { describe, expect, it } from 'vitest';
import { BACKENDS, useCorpusApp } from '../../../helpers/api-corpus.ts';
import { startTestApp } from '../../../helpers/app.ts';

// Once per vector backend, as the rest of the API: the embeddings route must not depend on it.
describe.each(BACKENDS)('embedding routes on the %s backend', (backend) => {
  const { call } = useCorpusApp(backend, (overrides) => startTestApp(overrides), { seed: false });

  it('embeds in the OpenAI shape', async () => {
    const res = await call<{ object: string; data: { object: string; index: number; embedding: number[] }[]; model: string; usage: { prompt_tokens: number; total_tokens: number } }>(
      'POST',
      '/v1/embeddings',
      { input: ['first text', 'a second, longer text to embed'] },
    );
    expect(res.status).toBe(200);
    expect(res.body.object).toBe('list');
    expect(res.body.model).toMatch(/^use-lite@/);
    expect(res.body.data.map((d) => [d.object, d.index, d.embedding.length])).toEqual([
      ['embedding', 0, 512],
      ['embedding', 1, 512],
    ]);
    for (const d of res.body.data) expect(Math.hypot(...d.embedding)).toBeCloseTo(1, 4);
    expect(res.body.usage.prompt_tokens).toBeGreaterThan(4);
    expect(res.body.usage.total_tokens).toBe(res.body.usage.prompt_tokens);

    const single = await call<{ data: { embedding: number[] }[] }>('POST', '/v1/embeddings', { input: 'first text' });
    expect(single.body.data).toHaveLength(1);
    const same = single.body.data[0]!.embedding;
    res.body.data[0]!.embedding.forEach((v, i) => expect(v).toBeCloseTo(same[i]!, 5));
  });
});
