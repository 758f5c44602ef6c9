/**
 * Request shapes of the HTTP API, every one validated at the edge. They are also the source of
 * /openapi.json and of the typed client's request types (`sextant/client`).
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { driftSettingsSchema } from '../lifecycle/drift/config.ts';
import { DEFAULT_FAIRNESS_MARGIN, MAX_FAIRNESS_MARGIN } from '../lifecycle/training/fairness.ts';
import { trainingSettingsSchema } from '../lifecycle/training/settings.ts';
import { MAX_REFERENCE_QUERIES } from '../lifecycle/drift/monitor.ts';
import { DEFAULT_AUDIT_K, DEFAULT_AUDIT_SEED, DEFAULT_BOOTSTRAP, MAX_AUDIT_QUERIES } from '../lifecycle/audit/run.ts';
import { DEFAULT_GATE_MARGIN } from '../lifecycle/eval/eval-set.ts';
import { DEFAULT_TARGET_RECALL } from '../lifecycle/eval/tune.ts';
import { feedbackItemIssues } from '../lifecycle/training/feedback.ts';
import { FORBIDDEN_FIELD } from '../values/filter.ts';

export type Limits = Pick<Config, 'maxDocsPerRequest' | 'maxTextChars' | 'maxK'>;

/**
 * Adds an issue when `value` is an object with an own '__proto__' key. JSON.parse gives a body's
 * '__proto__' as an own key, and z.record() drops it without an issue (it cannot be set on a
 * plain object), so a filter {"__proto__": …, "b": 1} would arrive as {"b": 1}, broader than the
 * one sent, and a metadata field would vanish: it is refused instead, naming its path.
 */
function refuseForbiddenKey(value: unknown, ctx: z.RefinementCtx, path: readonly PropertyKey[] = []): void {
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, FORBIDDEN_FIELD)) {
    ctx.addIssue({ code: 'custom', path: [...path, FORBIDDEN_FIELD], message: `the key '${FORBIDDEN_FIELD}' is not allowed`, input: value });
  }
}

/** A JSON object with any keys but '__proto__' (see refuseForbiddenKey), checked before z.record() sees it. */
function jsonObject(description?: string) {
  const record = z.record(z.string(), z.unknown());
  return z.preprocess<unknown, typeof record, Record<string, unknown>>(
    (value, ctx) => {
      refuseForbiddenKey(value, ctx);
      return value;
    },
    description === undefined ? record : record.describe(description),
  );
}

const metadata = jsonObject('Free-form JSON object; filterable by its top-level fields');
const docId = z.string().min(1).max(512);
const versionName = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/i);
/** Longest vector accepted anywhere (queries, upserts); far above any embedding model's size. */
const MAX_VECTOR_LENGTH = 16_384;
const vector = z.array(z.number()).min(1).max(MAX_VECTOR_LENGTH);

/** OpenAI clients may send token ids (`[1, 2]` or `[[1, 2]]`); Sextant tokenizes itself, so it takes text only. */
function isTokenIds(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((x) => typeof x === 'number' || (Array.isArray(x) && x.every((y) => typeof y === 'number')))
  );
}

const datasetPath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => isAbsolute(p), { message: 'must be an absolute path to a BEIR folder on the server' })
  .describe('Absolute path, on the server, of a BEIR folder (queries.jsonl, qrels.tsv or qrels/test.tsv)');

/** Request bodies that do not depend on the configured limits. */
export const fixedSchemas = {
  importModel: z
    .object({
      path: z.string().min(1).describe('A Hugging Face sentence-transformers ONNX folder on the server'),
      name: versionName,
      version: versionName.optional(),
      query_prefix: z.string().optional(),
      document_prefix: z.string().optional(),
      matryoshka: z
        .array(z.number().int().positive())
        .min(1)
        .max(32)
        .optional()
        .describe('Smaller sizes the model was trained to be cut to; /v1/embeddings `dimensions` may ask for them'),
    })
    .strict(),
  setAlias: z.object({ target: z.string().min(1) }).strict(),
  backup: z.object({ dir: z.string().min(1).describe("A directory on the server's machine, absent or empty, outside the data directory") }).strict(),
  reembed: z.object({ model: z.string().min(1).optional() }).strict(),
  train: z
    .object({
      kind: z.enum(['adapter', 'static']).optional().describe("Default 'adapter'"),
      epochs: z.number().int().min(1).max(100).optional(),
      seed: z.number().int().optional(),
      gate: z.enum(['dense', 'hybrid']).optional().describe("Which mode's figures the gate reads (default 'dense')"),
      fairness: z
        .object({
          group_by: z.string().min(1).describe('Metadata field whose values form the groups (as in POST …/audit)'),
          margin: z
            .number()
            .min(0)
            .max(MAX_FAIRNESS_MARGIN)
            .optional()
            .describe(`How much further from exposure parity (exposure share ÷ collection share) any group may move (default ${DEFAULT_FAIRNESS_MARGIN})`),
        })
        .strict()
        .optional()
        .describe("Also refuse a version under which a group of documents moves further from exposure parity than the parent's by more than the margin"),
      activate: z.boolean().optional().describe('With a passed gate, start re-embedding to the new version (default false)'),
    })
    .strict(),
  driftSettings: driftSettingsSchema,
  eval: z
    .object({
      dataset: datasetPath,
      generation: z.number().int().positive().optional().describe('Generation to evaluate (default: the live one)'),
      compare: z
        .union([z.number().int().positive(), z.string().min(1).max(256)])
        .optional()
        .describe("A second generation id, or a model (name@version or alias) one of the collection's generations uses"),
      modes: z.array(z.enum(['dense', 'keyword', 'hybrid'])).min(1).max(3).optional(),
      k: z.number().int().min(10).max(10_000).optional().describe('Recall depth (default 100)'),
      ef: z.number().int().min(1).max(10_000).optional().describe('efSearch override for the dense searches'),
      register: z.boolean().optional().describe("Also register the dataset as the collection's evaluation set (re-embedding gate)"),
      margin: z.number().min(0).max(1).optional().describe(`nDCG@10 a new generation may lose and still pass the gate (default ${DEFAULT_GATE_MARGIN})`),
    })
    .strict(),
  tune: z
    .object({
      dataset: datasetPath,
      target_recall: z.number().gt(0).max(1).optional().describe(`ANN recall@10 the chosen efSearch must reach (default ${DEFAULT_TARGET_RECALL})`),
      dry_run: z.boolean().optional().describe('Report without storing the new defaults'),
      seed: z.number().int().nonnegative().optional().describe('Seed of the cross-validation split'),
    })
    .strict(),
  evalSet: z
    .object({
      dataset: datasetPath,
      margin: z.number().min(0).max(1).optional(),
    })
    .strict(),
};

export function schemasFor(limits: Limits) {
  const deleteBody = z.union([
    z.object({ ids: z.array(docId).min(1).max(limits.maxDocsPerRequest) }).strict(),
    z.object({ filter: jsonObject() }).strict(),
  ]);
  const text = z.string().min(1).max(limits.maxTextChars);
  const judgedIds = z.array(docId).max(limits.maxDocsPerRequest);
  const feedbackItem = z
    .object({
      query: text.describe('The query as the user searched it; not empty or only whitespace'),
      relevant: judgedIds.min(1).describe('Ids of documents of the collection the user judged relevant (at least one, no repeats)'),
      not_relevant: judgedIds.optional().describe('Ids judged not relevant (none of them relevant, no repeats)'),
    })
    .strict()
    .superRefine((item, ctx) => {
      for (const issue of feedbackItemIssues({ query: item.query, relevant: item.relevant, notRelevant: item.not_relevant })) {
        // An empty query or relevant list already failed its min(1) above: one issue each, not two.
        if ((issue.path[0] === 'query' && item.query === '') || (issue.path[0] === 'relevant' && item.relevant.length === 0)) continue;
        ctx.addIssue({ code: 'custom', path: [...issue.path], message: issue.message, input: item });
      }
    });
  const hnsw = z
    .object({
      M: z.number().int().min(2).max(128).optional(),
      efConstruction: z.number().int().min(8).max(4096).optional(),
      efSearch: z.number().int().min(1).max(10_000).optional(),
    })
    .strict();
  return {
    ...fixedSchemas,
    embeddingsRequest: z
      .object({
        input: z.union([text, z.array(text).min(1).max(limits.maxDocsPerRequest)], {
          error: (issue) =>
            isTokenIds(issue.input)
              ? 'token id arrays are not accepted: Sextant tokenizes itself, so send text (a string or an array of strings)'
              : `expected a text or an array of 1 to ${limits.maxDocsPerRequest} texts`,
        }),
        model: z.string().min(1).optional(),
        input_type: z.enum(['query', 'document']).optional().describe('Applies the model query or document prefix (default document)'),
        encoding_format: z
          .enum(['float', 'base64'])
          .optional()
          .describe('float (default): arrays of numbers; base64: the little-endian float32 bytes of each vector, base64-encoded'),
        dimensions: z
          .number()
          .int()
          .positive()
          .optional()
          .describe("Output size: the model's dimensions, or one of the smaller sizes its manifest declares (`matryoshka`)"),
        user: z.string().max(1024).optional().describe('Accepted for OpenAI compatibility; ignored'),
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
        training: trainingSettingsSchema
          .optional()
          .describe('Automatic training under policy auto (merged into the stored settings): auto, kind, min_documents, retrain_growth, fairness'),
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
                vector: vector
                  .optional()
                  .describe("A precomputed vector from the collection's live model (e.g. /v1/embeddings); used instead of embedding the text for the live generation"),
              })
              .strict(),
          )
          .min(1)
          .max(limits.maxDocsPerRequest),
      })
      .strict(),
    deleteDocuments: z.preprocess<unknown, typeof deleteBody, z.input<typeof deleteBody>>((body, ctx) => {
      // The union reports a failing branch only as "Invalid input": name the filter's key here.
      if (typeof body === 'object' && body !== null) refuseForbiddenKey((body as { filter?: unknown }).filter, ctx, ['filter']);
      return body;
    }, deleteBody),
    search: z
      .object({
        mode: z.enum(['dense', 'keyword', 'hybrid']).default('dense'),
        query: text.optional(),
        vector: vector.optional(),
        k: z.number().int().min(1).max(limits.maxK).default(10),
        filter: jsonObject().optional(),
        alpha: z.number().min(0).max(1).optional().describe('Hybrid dense weight: 0 = keyword only, 1 = dense only'),
        ef: z.number().int().min(1).max(10_000).optional(),
        include_text: z.boolean().default(false),
        explain: z.boolean().default(false),
      })
      .strict()
      .refine((b) => b.query !== undefined || b.vector !== undefined, { message: 'give "query" (text) or "vector"' }),
    explain: z
      .object({
        query: text.describe('The query text'),
        id: docId.describe('The document to explain'),
        mode: z.enum(['dense', 'keyword', 'hybrid']).default('hybrid').describe('The search mode whose score is explained (default hybrid: both sides)'),
      })
      .strict(),
    feedback: z
      .object({ items: z.array(feedbackItem).min(1).max(limits.maxDocsPerRequest).describe(`1 to ${limits.maxDocsPerRequest} items, stored all or nothing`) })
      .strict(),
    audit: z
      .object({
        queries: z
          .array(text)
          .min(1, { message: 'the query set is empty: give at least one query' })
          .max(MAX_AUDIT_QUERIES)
          .optional()
          .describe('Query texts (no relevance judgements); or give dataset'),
        dataset: datasetPath.optional().describe('A BEIR folder on the server: its judged queries, and their judgements for relevance shares'),
        group_by: z.string().min(1).max(256).describe('Top-level metadata field whose values form the groups'),
        mode: z.enum(['dense', 'keyword', 'hybrid']).optional().describe("Default 'dense'"),
        k: z.number().int().min(1).max(limits.maxK).optional().describe(`Results per query (default ${DEFAULT_AUDIT_K})`),
        generation: z.number().int().positive().optional().describe('Generation to audit (default: the live one)'),
        compare: z
          .union([z.number().int().positive(), z.string().min(1).max(256)])
          .optional()
          .describe("A second generation id, or a model (name@version or alias) one of the collection's generations uses"),
        bootstrap: z.number().int().min(1).max(100_000).optional().describe(`Bootstrap resamples over queries (default ${DEFAULT_BOOTSTRAP})`),
        seed: z.number().int().optional().describe(`Seed of the bootstrap (default ${DEFAULT_AUDIT_SEED})`),
      })
      .strict()
      .refine((b) => (b.queries === undefined) !== (b.dataset === undefined), { message: 'give either "queries" (texts) or "dataset" (a BEIR folder), not both' }),
    driftReference: z
      .object({
        queries: z.array(z.string().trim().min(1).max(limits.maxTextChars)).min(2).max(MAX_REFERENCE_QUERIES).optional(),
        documents: z.boolean().optional().describe('true: sample the document reference again from the live generation'),
      })
      .strict(),
  };
}

export type Schemas = ReturnType<typeof schemasFor>;
