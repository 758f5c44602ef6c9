/**
 * Response shapes of the HTTP API as zod schemas: the source of the responses in /openapi.json
 * and of the typed client's response types; the tests parse real responses with them. A server
 * may add fields without breaking a client: the document does not forbid extra properties.
 */
import { z } from 'zod';

const timestamp = z.string().describe('ISO 8601');
const metadata = z.record(z.string(), z.unknown());
const mode = z.enum(['dense', 'keyword', 'hybrid']);

export const errorResponse = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});

const hnswSettings = z.object({ M: z.number().int(), efConstruction: z.number().int(), efSearch: z.number().int() });

/** A trained version's lineage, as its manifest holds it (src/models/manifest.ts). */
const lineage = z.record(z.string(), z.unknown());

export const collection = z
  .object({
    name: z.string(),
    document_count: z.number().int(),
    model: z.string().describe('Concrete name@version of the live generation'),
    active: z.string().describe('Same as model'),
    target: z.string().describe('Alias or name@version the collection follows'),
    model_target: z.string().describe('Same as target'),
    dimensions: z.number().int(),
    backend: z.enum(['hnsw', 'pinecone']),
    generation: z.number().int(),
    hnsw: hnswSettings,
    hybrid_alpha: z.number(),
    created_at: timestamp,
    updated_at: timestamp,
    lineage: lineage.nullable().optional().describe("GET of one collection: the live model's lineage when it was trained, else null"),
  });

const rankScore = z.object({ rank: z.number().int(), score: z.number() });

const passages = z
  .array(z.object({ start: z.number().int(), end: z.number().int(), score: z.number().describe("How much the document's dense score falls without this passage"), similarity: z.number().describe('The passage alone against the query (cosine)') }))
  .describe("The document's sentences (or word windows), best first: character offsets into its text");
const queryTerms = z.array(z.object({ term: z.string(), effect: z.number() })).describe('Query words by how much the dense score falls without them (occlusion)');
const keywordTerms = z.array(z.object({ term: z.string(), df: z.number().int(), tf: z.number().int(), contribution: z.number() })).describe("Each query term's BM25 contribution; they sum to the keyword score");
const hitExplain = z.object({
  dense: rankScore.extend({ passages: passages.optional(), query_terms: queryTerms.optional() }).nullable(),
  keyword: rankScore.extend({ terms: keywordTerms.optional() }).nullable(),
  alpha: z.number().optional(),
  hybrid: z
    .object({
      alpha: z.number(),
      dense_normalised: z.number(),
      keyword_normalised: z.number(),
      rank: z.number().int(),
      dense_rank: z.number().int().nullable(),
      keyword_rank: z.number().int().nullable(),
      moved_vs_dense: z.number().int().nullable(),
      moved_vs_keyword: z.number().int().nullable(),
    })
    .optional(),
});

export const explainResponse = z.object({
  id: z.string(),
  mode: z.enum(['dense', 'keyword', 'hybrid']),
  model: z.string(),
  generation: z.number().int(),
  rank: z.number().int().nullable().describe('Rank in that mode among the first 100 candidates; null when outside them'),
  score: z.number().nullable(),
  explain: z.object({
    dense: z.object({ rank: z.number().int().nullable(), score: z.number(), passages: passages.optional(), query_terms: queryTerms.optional() }).nullable(),
    keyword: z.object({ rank: z.number().int().nullable(), score: z.number(), terms: keywordTerms.optional() }).nullable(),
    alpha: z.number().optional(),
    hybrid: hitExplain.shape.hybrid,
  }),
});

export const searchHit = z
  .object({
    id: z.string(),
    score: z.number(),
    metadata,
    text: z.string().optional(),
    title: z.string().nullable().optional(),
    explain: hitExplain.optional().describe('With explain: the dense and keyword rank and score that produced the hit, and why (passages, query words, BM25 terms, fusion)'),
  });

export const searchResponse = z
  .object({ results: z.array(searchHit), model: z.string(), generation: z.number().int(), took_ms: z.number() });

export const embeddingsResponse = z
  .object({
    object: z.literal('list'),
    data: z.array(
      z
        .object({
          object: z.literal('embedding'),
          index: z.number().int(),
          embedding: z.union([z.array(z.number()), z.string().describe('base64 of little-endian float32')]),
        }),
    ),
    model: z.string(),
    usage: z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int() }),
  });

export const modelList = z
  .object({
    object: z.literal('list'),
    data: z.array(
      z
        .object({
          id: z.string(),
          object: z.literal('model'),
          created: z.number().int(),
          owned_by: z.string(),
          dimensions: z.number().int(),
          max_tokens: z.number().int(),
          dtype: z.string(),
          pooling: z.string(),
          aliases: z.array(z.string()),
          collections: z.array(z.string()),
          lineage: lineage.nullable().describe('Where a trained version comes from (parent, kind, collection, data, validation); null for others'),
        }),
    ),
  });

export const importedModel = z
  .object({ id: z.string(), dimensions: z.number().int(), dtype: z.string(), pooling: z.string(), max_tokens: z.number().int() });

export const alias = z.object({ alias: z.string(), target: z.string() });

/** A disparity ratio (1 is parity) with its interval: the audit's and the training gate's fairness check. */
const auditRatio = z.object({ value: z.number(), ci: z.tuple([z.number(), z.number()]).describe('95% bootstrap percentile interval over queries') });

const fieldDisparity = z.object({ disparity: z.number(), group: z.union([z.string(), z.number(), z.boolean()]) });

/** The training gate's fairness check (src/lifecycle/training/fairness.ts). */
export const trainingFairness = z.object({
  group_by: z.string(),
  margin: z.number(),
  mode: z.enum(['dense', 'hybrid']),
  k: z.number().int(),
  queries: z.object({ before: z.number().int(), after: z.number().int() }),
  before: fieldDisparity.nullable().describe("The field's disparity with the parent: the largest |exposure ÷ collection share - 1| over its groups"),
  after: fieldDisparity.nullable().describe('The same with the trained version'),
  change: z.number().nullable().describe('after - before; the check refuses it above the margin'),
  groups: z.array(
    z.object({
      value: z.union([z.string(), z.number(), z.boolean()]),
      documents: z.number().int(),
      collection_share: z.number(),
      before: auditRatio.describe("Exposure share ÷ collection share with the parent"),
      after: auditRatio.describe('The same with the trained version'),
    }),
  ),
  passed: z.boolean(),
  text: z.string().describe("The check's line of the gate's reason"),
});

export const job = z
  .object({
    id: z.string(),
    kind: z.string(),
    collection: z.string(),
    state: z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']),
    model: z.string(),
    generation: z.number().int().nullable(),
    previous_generation: z.number().int().nullable(),
    done: z.number().int(),
    total: z.number().int(),
    docs_per_s: z.number().nullable(),
    eta_seconds: z.number().nullable(),
    reason: z.string(),
    error: z.string().nullable(),
    created_at: timestamp,
    started_at: timestamp.nullable(),
    finished_at: timestamp.nullable(),
    /** 'embed': the model runs over every document; 'transform': an adapter maps the live generation's stored vectors. Absent when the server does not know (a job it has not run since it started). */
    method: z.enum(['transform', 'embed']).optional(),
    /** 'train' for training jobs; absent on re-embedding jobs (their JSON is as in 0.1.0). */
    type: z.enum(['reembed', 'train']).optional(),
    /** Training jobs: what was asked. */
    params: z
      .object({
        kind: z.enum(['adapter', 'static']),
        epochs: z.number().int().optional(),
        seed: z.number().int().optional(),
        gate: z.enum(['dense', 'hybrid']),
        fairness: z.object({ group_by: z.string(), margin: z.number() }).optional(),
        activate: z.boolean(),
      })
      .optional(),
    /** Finished training jobs: figures per held-out set before (parent) and after (trained). */
    validation: z.object({ before: z.record(z.string(), z.unknown()), after: z.record(z.string(), z.unknown()) }).optional(),
    /** Finished training jobs: the gate's outcome; a failed gate leaves the version unused. */
    gate: z
      .object({
        passed: z.boolean(),
        reason: z.string(),
        mode: z.enum(['dense', 'hybrid']),
        margin: z.number(),
        /** With `fairness` asked for: each group's exposure ÷ collection share with the parent and the trained version. */
        fairness: trainingFairness.optional(),
      })
      .optional(),
    /** Finished training jobs: the parent model the version was trained from. */
    parent: z.string().optional(),
    /** Finished training jobs: the re-embedding job that activates the version (activate with a passed gate), else null. */
    activation_job: z.string().nullable().optional(),
  });

export const jobList = z.object({ jobs: z.array(job) });
export const collectionList = z.object({ collections: z.array(collection) });
export const deletedCollection = z.object({ deleted: z.string() });
export const upsertResult = z.object({ upserted: z.number().int(), unchanged: z.number().int(), count: z.number().int() });
export const deletedDocuments = z.object({ deleted: z.number().int(), ids: z.array(z.string()) });

export const document = z
  .object({
    id: z.string(),
    text: z.string(),
    title: z.string().nullable(),
    metadata,
    content_hash: z.string(),
    created_at: timestamp,
    updated_at: timestamp,
  });

export const documentListItem = z.object({
  id: z.string(),
  title: z.string().nullable(),
  text: z.string(),
  metadata,
  created_at: timestamp,
  updated_at: timestamp,
});

export const documentList = z.object({
  count: z.number().int().describe('Documents the collection holds in all (every page)'),
  items: z.array(documentListItem).describe('In id order'),
  next: z.string().nullable().describe('Pass as `after` for the next page; null on the last page'),
});

export const generation = z.object({
  id: z.number().int(),
  model: z.string().describe('Concrete name@version that made the generation'),
  state: z.enum(['building', 'live', 'retired']),
  dimensions: z.number().int(),
  backend: z.enum(['hnsw', 'pinecone']),
  created_at: timestamp,
  retired_at: timestamp.nullable(),
  lineage: lineage.nullable().describe("The model's lineage when it was trained, else null"),
});

export const generationList = z.object({
  live: z.number().int().describe('The live generation'),
  rollback_to: z.number().int().nullable().describe('The generation POST …/rollback would make live (the most recently retired); null when none'),
  generations: z.array(generation).describe('Newest first'),
});

export const whoami = z.object({
  authenticated: z.boolean().describe('Whether the request carries a key the server knows (always true when it has no keys)'),
  principal: z.string().optional().describe("The API key's label (key1, key2, … in SEXTANT_API_KEYS order); 'anonymous' when the server has no keys"),
  role: z.enum(['read', 'write', 'admin']).optional().describe('admin when the server has no keys'),
  message: z.string().optional().describe('Why the request is not authenticated (missing or invalid key)'),
});

const driftState = z.enum(['ok', 'warning', 'drifted']);
const driftMetric = z
  .object({
    name: z.string(),
    kind: z.string(),
    value: z.number().nullable(),
    threshold: z.number().nullable(),
    exceeded: z.boolean(),
    window: z.object({ index: z.number().int(), size: z.number().int(), generation: z.number().int(), evaluated_at: timestamp }),
  });

export const driftStatus = z
  .object({
    collection: z.string(),
    state: driftState,
    generation: z.number().int(),
    model: z.string(),
    metrics: z.array(driftMetric),
    kinds: z.record(z.string(), z.object({ state: driftState })),
    history: z.array(z.object({ kind: z.string(), state: z.string(), alert: z.boolean(), created_at: timestamp })),
    config: z.record(z.string(), z.unknown()),
    policy: z
      .object({
        mode: z.enum(['auto', 'notify']),
        decision: z.string(),
        reason: z.string(),
        trigger: z.string().nullable(),
        training: z.object({
          auto: z.boolean(),
          kind: z.enum(['adapter', 'static']),
          min_documents: z.number().int(),
          retrain_growth: z.number(),
          fairness: z.object({ group_by: z.string(), margin: z.number() }).nullable(),
        }),
        last_action: z.object({ decision: z.string(), reason: z.string(), at: z.string() }).nullable(),
      }),
  });

export const driftReferences = z
  .object({
    collection: z.string(),
    references: z.array(
      z.object({ kind: z.string(), source: z.string(), count: z.number().int(), generation: z.number().int(), created_at: timestamp }),
    ),
  });

export const driftConfig = z.object({ collection: z.string(), config: z.record(z.string(), z.unknown()) });

const modeMetrics = z.object({ 'ndcg@10': z.number(), 'mrr@10': z.number() }).catchall(z.number()).describe('ndcg@10, mrr@10 and recall@<k>');
const evalResult = z
  .object({
    collection: z.string(),
    dataset: z.string(),
    queries: z.number().int(),
    generation: z.number().int(),
    model: z.string(),
    k: z.number().int(),
    ef_search: z.number().int(),
    hybrid_alpha: z.number(),
    modes: z.partialRecord(mode, modeMetrics),
    'ann_recall@10': z.number().nullable(),
    latency_ms: z.object({ p50: z.number(), p99: z.number() }).nullable(),
    missing_judged_documents: z.number().int(),
    took_ms: z.number(),
  });

export const evalSet = z.object({ dataset: z.string(), margin: z.number(), registered_at: timestamp });

export const evalReport = evalResult
  .extend({
    compare: z.object({ generation: z.number().int(), model: z.string(), result: evalResult }).optional(),
    eval_set: evalSet.optional().describe('With register: the evaluation set now registered'),
  });

export const lastEvaluation = z.object({
  evaluation: evalReport
    .extend({ evaluated_at: timestamp })
    .nullable()
    .describe('What the last POST …/eval answered, with when it ran; null when the collection was never evaluated'),
});

export const tuneResult = z.object({
  collection: z.string(),
  dataset: z.string(),
  queries: z.number().int(),
  generation: z.number().int(),
  model: z.string(),
  alpha: z.object({
    chosen: z.number(),
    previous: z.number(),
    'cv_ndcg@10': z.number(),
    'in_sample_ndcg@10': z.number(),
    'previous_ndcg@10': z.number(),
    folds: z
      .array(z.object({ alpha: z.number(), 'train_ndcg@10': z.number(), 'test_ndcg@10': z.number(), test_queries: z.number().int() }))
      .readonly(),
    seed: z.number().int(),
    grid: z.array(z.object({ alpha: z.number(), 'ndcg@10': z.number() })).readonly(),
  }),
  ef_search: z
    .object({
      chosen: z.number().int(),
      previous: z.number().int(),
      target_recall: z.number(),
      reached: z.boolean(),
      sweep: z.array(z.object({ ef: z.number().int(), 'ann_recall@10': z.number() })).readonly(),
    })
    .nullable()
    .describe('null for backends without an efSearch (Pinecone)'),
  stored: z.boolean(),
  took_ms: z.number(),
});

const auditGroup = z.object({
  value: z.union([z.string(), z.number(), z.boolean()]).describe("The group's value of the metadata field"),
  documents: z.number().int(),
  collection_share: z.number().describe("The group's share of the documents that have the field"),
  exposure_share: z.number().describe('Mean over queries of its share of the top-k exposure (rank r weighs 1/log2(r+1))'),
  relevance_share: z.number().nullable().describe('Mean over judged queries of its share of the relevant documents; null without judgements'),
  exposure_over_collection: auditRatio
    .extend({
      null_ci: z.tuple([z.number(), z.number()]).describe('95% interval of the ratio when the group labels are shuffled among the documents (permutation test)'),
      p_value: z.number().describe('Permutation test: share of shuffles at least as far from 1 as the ratio (two-sided)'),
    })
    .describe('exposure_share / collection_share: 1 is parity'),
  exposure_over_relevance: auditRatio.nullable().describe('exposure_share / relevance_share (disparate exposure); null without judgements or relevance'),
});
const auditSide = z.object({
  generation: z.number().int(),
  model: z.string(),
  queries: z.number().int().describe('Queries averaged: those whose top-k holds a document with the field'),
  skipped_queries: z.number().int(),
  groups: z.array(auditGroup),
  per_query_exposure_sums_to_one: z.boolean(),
  exposure_sum_max_deviation: z.number(),
});

export const auditReport = auditSide.extend({
  collection: z.string(),
  group_by: z.string(),
  mode,
  k: z.number().int(),
  dataset: z.string().nullable(),
  documents: z.number().int().describe('Documents that have the field (a string, number or boolean value)'),
  documents_without_field: z.number().int(),
  missing_judged_documents: z.number().int().nullable(),
  bootstrap: z.object({ resamples: z.number().int(), seed: z.number().int(), confidence: z.number() }),
  compare: auditSide.optional().describe('The same figures for the compared generation, over the same groups and queries'),
  took_ms: z.number(),
});

export const evalSetDeleted = z.object({ deleted: z.literal(true) });

export const feedbackStored = z.object({ stored: z.number().int().describe('Feedback items stored (all of the request)') });

export const feedbackItem = z.object({
  id: z.number().int().describe('Increasing with arrival; the `after` cursor of GET …/feedback'),
  query: z.string(),
  relevant: z.array(z.string()),
  not_relevant: z.array(z.string()),
  created_at: timestamp,
});

export const feedbackList = z.object({
  count: z.number().int().describe('Feedback items the collection holds in all (every page)'),
  items: z.array(feedbackItem).describe('Oldest first'),
  next: z.number().int().nullable().describe('Pass as `after` for the next page; null on the last page'),
});

export const feedbackDeleted = z.object({ deleted: z.number().int().describe('Feedback items removed') });

export const health = z.object({ status: z.literal('ok') });
export const backup = z.object({
  dir: z.string(),
  created_at: z.string(),
  seq: z.number().int(),
  collections: z.array(z.object({ name: z.string(), documents: z.number().int(), generations: z.array(z.object({ id: z.number().int(), state: z.string(), model: z.string(), backend: z.string(), snapshot_seq: z.number().int().nullable() })) })),
  models: z.array(z.string()),
  bytes: z.number().int(),
  ms: z.number(),
});
export const readiness = z
  .object({
    status: z.enum(['ready', 'starting']),
    models: z.array(z.object({ id: z.string(), device: z.string(), fallback_reason: z.string().optional() })),
    device: z.string().nullable(),
    store: z.string(),
    collections: z.number().int(),
  });
