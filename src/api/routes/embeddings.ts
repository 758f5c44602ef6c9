/**
 * POST /v1/embeddings — the OpenAI embeddings API as its clients send it: `encoding_format`
 * float or base64 (the OpenAI SDK asks for base64 unless told otherwise), `dimensions` (the
 * model's own size or a Matryoshka size its manifest declares), `user` accepted and ignored.
 */
import { leadingComponents } from '../../embedding/pooling.ts';
import { InvalidInputError } from '../../errors.ts';
import { supportedDimensions } from '../../models/manifest.ts';
import type { ApiDeps } from '../env.ts';
import * as responses from '../responses.ts';
import { routeWithBody, type Route } from '../route.ts';

/** What OpenAI returns for `encoding_format: "base64"`: the vector's float32 bytes, little-endian. */
export function float32Base64(v: Float32Array): string {
  const bytes = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) bytes.writeFloatLE(v[i]!, i * 4);
  return bytes.toString('base64');
}

export function embeddingsRoutes(deps: ApiDeps): Route[] {
  return [
    routeWithBody({
      method: 'post',
      path: '/v1/embeddings',
      operationId: 'embed',
      summary: 'Embed texts (OpenAI-compatible: encoding_format float|base64, dimensions, user)',
      role: 'read',
      request: deps.schemas.embeddingsRequest,
      response: responses.embeddingsResponse,
      handle: async (c, body) => {
        const engine = await deps.service.engines.get(body.model ?? deps.config.defaultModel);
        const sizes = supportedDimensions(engine.version.manifest);
        const dimensions = body.dimensions ?? engine.dimensions;
        if (!sizes.includes(dimensions)) {
          throw new InvalidInputError(`dimensions: ${engine.id} supports ${sizes.join(', ')}; got ${dimensions}`, { supported: sizes });
        }
        const inputs = typeof body.input === 'string' ? [body.input] : body.input;
        const out = await engine.embed(inputs, body.input_type ?? 'document');
        const tokens = out.tokenCounts.reduce((a, b) => a + b, 0);
        const encode = body.encoding_format === 'base64' ? float32Base64 : (v: Float32Array) => Array.from(v);
        return c.json({
          object: 'list',
          data: out.vectors.map((v, index) => ({ object: 'embedding', index, embedding: encode(leadingComponents(v, dimensions)) })),
          model: engine.id,
          usage: { prompt_tokens: tokens, total_tokens: tokens },
        });
      },
    }),
  ];
}
