/** A job as the API shows it (`GET /v1/jobs/{id}`; also what `sextant reembed` prints). */
import type { JobStatus } from '../../lifecycle/reembed/jobs.ts';

export function jobView(job: JobStatus) {
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
    docs_per_s: job.docsPerSecond === null ? null : Math.round(job.docsPerSecond * 10) / 10,
    eta_seconds: job.etaSeconds === null ? null : Math.round(job.etaSeconds),
    reason: job.reason,
    error: job.error,
    created_at: job.createdAt,
    started_at: job.startedAt,
    finished_at: job.finishedAt,
    // Only when this process knows it (it is not stored): how the job fills its generation.
    ...(job.method !== null ? { method: job.method } : {}),
  };
}

export type JobView = ReturnType<typeof jobView>;
