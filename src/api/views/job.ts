/** A job as the API shows it (`GET /v1/jobs/{id}`; also what `sextant reembed` prints). */
import type { JobStatus } from '../../lifecycle/reembed/jobs.ts';
import type { TrainJobStatus } from '../../lifecycle/training/jobs.ts';

/** A re-embedding or training job. Re-embedding jobs' JSON is unchanged (no `type`; see the 0.1.0 compatibility test). */
export function jobView(job: JobStatus): ReturnType<typeof reembedJobView>;
export function jobView(job: TrainJobStatus): ReturnType<typeof trainJobView>;
export function jobView(job: JobStatus | TrainJobStatus): ReturnType<typeof reembedJobView> | ReturnType<typeof trainJobView>;
export function jobView(job: JobStatus | TrainJobStatus): ReturnType<typeof reembedJobView> | ReturnType<typeof trainJobView> {
  return 'train' in job ? trainJobView(job) : reembedJobView(job);
}

/** What both kinds of job show, in the order the API has always sent them. */
function commonView(job: JobStatus | TrainJobStatus, rate: { docs_per_s: number | null; eta_seconds: number | null }) {
  return {
    id: job.id,
    kind: job.kind,
    collection: job.collection,
    state: job.state,
    model: job.model,
    generation: job.generation,
    previous_generation: job.previousGeneration,
    done: job.done,
    total: job.total,
    ...rate,
    reason: job.reason,
    error: job.error,
    created_at: job.createdAt,
    started_at: job.startedAt,
    finished_at: job.finishedAt,
  };
}

function trainJobView(job: TrainJobStatus) {
  const r = job.train.result;
  const p = job.train.params;
  return {
    type: 'train' as const,
    ...commonView(job, { docs_per_s: null, eta_seconds: null }),
    params: {
      kind: p.kind,
      ...(p.epochs !== undefined ? { epochs: p.epochs } : {}),
      ...(p.seed !== undefined ? { seed: p.seed } : {}),
      gate: p.gate,
      ...(p.fairness ? { fairness: { group_by: p.fairness.groupBy, margin: p.fairness.margin } } : {}),
      activate: p.activate,
    },
    ...(r
      ? {
          validation: r.validation,
          gate: r.gate,
          parent: r.parent,
          activation_job: r.activationJob,
        }
      : {}),
  };
}

function reembedJobView(job: JobStatus) {
  return {
    ...commonView(job, {
      docs_per_s: job.docsPerSecond === null ? null : Math.round(job.docsPerSecond * 10) / 10,
      eta_seconds: job.etaSeconds === null ? null : Math.round(job.etaSeconds),
    }),
    // Only when this process knows it (it is not stored): how the job fills its generation.
    ...(job.method !== null ? { method: job.method } : {}),
  };
}

export type JobView = ReturnType<typeof reembedJobView> | ReturnType<typeof trainJobView>;
