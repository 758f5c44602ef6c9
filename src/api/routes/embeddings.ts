/** POST /v1/embeddings — OpenAI-compatible. */
import { Hono } from 'hono';
import { requireRole } from '../auth.ts';
import { readJson } from '../body.ts';
import type { ApiDeps, ApiEnv } from '../env.ts';

export function embeddingsRoutes(deps: ApiDeps): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.post('/', requireRole(deps.keys, 'read'), async (c) => {
    const body = await readJson(c, deps.schemas.embeddingsRequest);
    const engine = await deps.service.engines.get(body.model ?? deps.config.defaultModel);
    const inputs = typeof body.input === 'string' ? [body.input] : body.input;
    const out = await engine.embed(inputs, body.input_type ?? 'document');
    const tokens = out.tokenCounts.reduce((a, b) => a + b, 0);
    return c.json({
      object: 'list',
      data: out.vectors.map((v, index) => ({ object: 'embedding', index, embedding: Array.from(v) })),
      model: engine.id,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  });
  return app;
}
