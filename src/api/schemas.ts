/** Request and response shapes of the HTTP API, validated at the edge (also the source of /openapi.json). */
import { z } from 'zod';
import type { Config } from '../config.ts';

export type Limits = Pick<Config, 'maxDocsPerRequest' | 'maxTextChars' | 'maxK'>;

const metadata = z.record(z.string(), z.unknown()).describe('Free-form JSON object; filterable by its top-level fields');
const docId = z.string().min(1).max(512);

export function schemasFor(limits: Limits) {
  const text = z.string().min(1).max(limits.maxTextChars);
  const hnsw = z
    .object({
      M: z.number().int().min(2).max(128).optional(),
      efConstruction: z.number().int().min(8).max(4096).optional(),
      efSearch: z.number().int().min(1).max(10_000).optional(),
    })
    .strict();
  return {
    embeddingsRequest: z
      .object({
        input: z.union([text, z.array(text).min(1).max(limits.maxDocsPerRequest)]),
        model: z.string().min(1).optional(),
        input_type: z.enum(['query', 'document']).optional().describe('Applies the model query or document prefix (default document)'),
        encoding_format: z.literal('float').optional(),
      })
      .strict(),
    createCollection: z
      .object({
        name: z.string().min(1).max(64),
        model: z.string().min(1).optional().describe('Alias or name@version (default: the server default model)'),
        backend: z.enum(['hnsw', 'pinecone']).optional(),
        hnsw: hnsw.optional(),
        hybrid_alpha: z.number().min(0).max(1).optional(),
      })
      .strict(),
    updateCollection: z
      .object({
        target: z.string().min(1).optional().describe('Alias or name@version the collection should follow'),
        hybrid_alpha: z.number().min(0).max(1).optional(),
        hnsw: z.object({ efSearch: z.number().int().min(1).max(10_000) }).strict().optional(),
        policy: z.enum(['auto', 'notify']).optional().describe('What drift or a moved target triggers: auto re-embeds, notify only reports'),
      })
      .strict(),
    upsertDocuments: z
      .object({
        documents: z
          .array(
            z
              .object({
                id: docId,
                text,
                title: z.string().max(limits.maxTextChars).nullable().optional(),
                metadata: metadata.optional(),
              })
              .strict(),
          )
          .min(1)
          .max(limits.maxDocsPerRequest),
      })
      .strict(),
    deleteDocuments: z.union([
      z.object({ ids: z.array(docId).min(1).max(limits.maxDocsPerRequest) }).strict(),
      z.object({ filter: z.record(z.string(), z.unknown()) }).strict(),
    ]),
    search: z
      .object({
        mode: z.enum(['dense', 'keyword', 'hybrid']).default('dense'),
        query: text.optional(),
        vector: z.array(z.number()).min(1).max(16_384).optional(),
        k: z.number().int().min(1).max(limits.maxK).default(10),
        filter: z.record(z.string(), z.unknown()).optional(),
        alpha: z.number().min(0).max(1).optional().describe('Hybrid dense weight: 0 = keyword only, 1 = dense only'),
        ef: z.number().int().min(1).max(10_000).optional(),
        include_text: z.boolean().default(false),
        explain: z.boolean().default(false),
      })
      .strict()
      .refine((b) => b.query !== undefined || b.vector !== undefined, { message: 'give "query" (text) or "vector"' }),
  };
}

export type Schemas = ReturnType<typeof schemasFor>;
