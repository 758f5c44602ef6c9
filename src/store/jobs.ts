/**
 * Re-embedding jobs (`jobs` table). Separate because a job row is bookkeeping of the lifecycle
 * worker, written in transactions of its own and never together with documents or vectors; it
 * has no foreign key to collections, so a job's record outlives its collection.
 */
import { InvalidInputError } from '../errors.ts';
import type { StoreDatabase } from './database.ts';
import { nowIso } from './rows.ts';
import type { JobKind, JobPatch, JobRow, JobState, JobsRepository } from './types.ts';

interface JobRecord {
  id: string;
  kind: JobKind;
  collection: string;
  state: JobState;
  model: string;
  generation: number | null;
  previous_generation: number | null;
  done: number;
  total: number;
  cursor: string | null;
  reason: string;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  updated_at: string;
  params: string | null;
  result: string | null;
}

function json(text: string): Record<string, unknown> {
  return JSON.parse(text) as Record<string, unknown>;
}

function toJobRow(r: JobRecord): JobRow {
  return {
    id: r.id,
    kind: r.kind,
    collection: r.collection,
    state: r.state,
    model: r.model,
    generation: r.generation,
    previousGeneration: r.previous_generation,
    done: r.done,
    total: r.total,
    cursor: r.cursor,
    reason: r.reason,
    error: r.error,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    updatedAt: r.updated_at,
    ...(r.params !== null ? { params: json(r.params) } : {}),
    ...(r.result !== null ? { result: json(r.result) } : {}),
  };
}

const PATCH_COLUMNS: Record<keyof JobPatch, string> = {
  state: 'state',
  model: 'model',
  generation: 'generation',
  previousGeneration: 'previous_generation',
  done: 'done',
  total: 'total',
  cursor: 'cursor',
  error: 'error',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  result: 'result',
};

export class SqliteJobs implements JobsRepository {
  constructor(private readonly db: StoreDatabase) {}

  createJob(job: Pick<JobRow, 'id' | 'collection' | 'model' | 'reason' | 'total'> & { readonly kind?: JobKind; readonly params?: Record<string, unknown> }): JobRow {
    const now = nowIso();
    this.db.write(() =>
      this.db.stmt(
        `INSERT INTO jobs (id, kind, collection, state, model, total, reason, created_at, updated_at, params)
         VALUES (?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)`,
      ).run(job.id, job.kind ?? 'reembed', job.collection, job.model, job.total, job.reason, now, now, job.params === undefined ? null : JSON.stringify(job.params)),
    );
    return this.getJob(job.id)!;
  }

  getJob(id: string): JobRow | undefined {
    const record = this.db.stmt('SELECT * FROM jobs WHERE id = ?').get(id) as JobRecord | undefined;
    return record && toJobRow(record);
  }

  listJobs(collection?: string): JobRow[] {
    const records = (
      collection === undefined
        ? this.db.stmt('SELECT * FROM jobs ORDER BY created_at DESC, id DESC').all()
        : this.db.stmt('SELECT * FROM jobs WHERE collection = ? ORDER BY created_at DESC, id DESC').all(collection)
    ) as JobRecord[];
    return records.map(toJobRow);
  }

  updateJob(id: string, patch: JobPatch): JobRow {
    const entries = Object.entries(patch).filter(([, v]) => v !== undefined) as [keyof JobPatch, unknown][];
    this.db.write(() => {
      if (!this.db.stmt('SELECT 1 FROM jobs WHERE id = ?').get(id)) throw new InvalidInputError(`job '${id}' does not exist`);
      if (entries.length === 0) return;
      const sets = entries.map(([k]) => `${PATCH_COLUMNS[k]} = ?`).join(', ');
      this.db.stmt(`UPDATE jobs SET ${sets}, updated_at = ? WHERE id = ?`).run(...entries.map(([k, v]) => (k === 'result' ? JSON.stringify(v) : v)), nowIso(), id);
    });
    return this.getJob(id)!;
  }
}
