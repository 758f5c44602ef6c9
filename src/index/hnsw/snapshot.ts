/**
 * The HNSW index's files on disk: snapshots, the CURRENT pointer, and recovery on open. An index
 * lives in `<dataDir>/<collection>/<generation>/`:
 *
 *   CURRENT          the number n of the live snapshot ("7\n"), replaced atomically (tmp + rename)
 *   index-<n>.bin    hnswlib's own serialization of the graph and vectors
 *   state-<n>.json   label map, free list, metadata, appliedSeq, settings (SnapshotState)
 *   config.json      dimensions, space, M, efConstruction, efSearch (for people and tools)
 *
 * A snapshot is written as index + state (each fsynced), then CURRENT is switched, then older
 * files are deleted; a crash at any point leaves CURRENT naming a complete pair. Files that
 * CURRENT does not name are ignored on open and removed by the next snapshot.
 *
 * When a snapshot is taken (and what it captures) is the index's business (index.ts); this file
 * only knows the files.
 */
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../../errors.ts';
import type { Metadata } from '../../values/filter.ts';
import type { HnswSettings } from '../../values/backend.ts';
import { fsyncDir, fsyncFile, writeFileDurably, writeFileSynced } from '../../util/durable-write.ts';
import { GRAPH_SPACE } from './graph-protocol.ts';
import { HnswGraph } from './graph.ts';
import type { LabelState } from './labels.ts';
import { faultPoint } from '../../util/fault-points.ts';

/** What `state-<n>.json` holds. Labels are dense slot numbers 0..labels.length-1. */
export interface SnapshotState extends LabelState {
  readonly format: 1;
  readonly snapshot: number;
  readonly dimensions: number;
  readonly space: 'cosine';
  readonly settings: HnswSettings;
  /** getMaxElements() when written (informational: readIndex restores it from the .bin). */
  readonly capacity: number;
  readonly appliedSeq: number;
  /** Size of index-<n>.bin, checked on load as a cheap guard against a swapped/truncated file. */
  readonly indexBytes: number;
  /** label -> document id; null for a freed label (marked deleted in the graph). */
  readonly labels: readonly (string | null)[];
  /** label -> metadata; null when the document has none or the label is free. */
  readonly metadata: readonly (Metadata | null)[];
  /** Freed labels, reused last-in first-out. */
  readonly free: readonly number[];
}

/** What the index contributes to a snapshot; the rest of SnapshotState is filled in here. */
export type SnapshotContent = Omit<SnapshotState, 'format' | 'snapshot' | 'space' | 'indexBytes'>;

const CURRENT = 'CURRENT';
const CURRENT_TMP = 'CURRENT.tmp';
const CONFIG = 'config.json';
const SNAPSHOT_FILE = /^(index|state)-(\d+)\.(bin|json)$/;

/** Where snapshot n's graph goes; the graph worker writes it (HnswGraph.write) before `commitSnapshot`. */
export function indexFile(dir: string, n: number): string {
  return join(dir, `index-${n}.bin`);
}

function stateFile(dir: string, n: number): string {
  return join(dir, `state-${n}.json`);
}

/**
 * What is on disk: the snapshot CURRENT names (null: none yet, or an unreadable CURRENT), and
 * the highest snapshot number seen anywhere, so the next snapshot never reuses a stray file's number.
 */
export async function scanSnapshots(dir: string): Promise<{ current: number | null; maxSeen: number }> {
  const names = await readdir(dir);
  let maxSeen = 0;
  for (const name of names) {
    const m = SNAPSHOT_FILE.exec(name);
    if (m) maxSeen = Math.max(maxSeen, Number(m[2]));
  }
  const current = await readCurrent(dir);
  if (current !== null) maxSeen = Math.max(maxSeen, current);
  return { current, maxSeen };
}

async function readCurrent(dir: string): Promise<number | null> {
  let text: string;
  try {
    text = await readFile(join(dir, CURRENT), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const n = Number(text.trim());
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

/**
 * Loads snapshot n into a new graph. Throws ConfigError when the snapshot is fine but was built
 * for other dimensions, and a plain Error when the files are damaged or do not match.
 */
export async function loadSnapshot(dir: string, n: number, dimensions: number): Promise<{ graph: HnswGraph; state: SnapshotState }> {
  const state = JSON.parse(await readFile(stateFile(dir, n), 'utf8')) as SnapshotState;
  if (state.format !== 1 || state.snapshot !== n || state.space !== GRAPH_SPACE) throw new Error(`state-${n}.json: unknown format`);
  if (state.dimensions !== dimensions) {
    throw new ConfigError(`hnsw index in ${dir} has ${state.dimensions} dimensions, expected ${dimensions}`);
  }
  if (state.labels.length !== state.metadata.length) throw new Error(`state-${n}.json: labels and metadata differ in length`);
  const freeCount = state.labels.reduce((c, id) => (id === null ? c + 1 : c), 0);
  if (freeCount !== state.free.length || state.free.some((l) => state.labels[l] !== null)) {
    throw new Error(`state-${n}.json: free list does not match the label map`);
  }
  const indexPath = indexFile(dir, n);
  const bytes = (await stat(indexPath)).size;
  if (bytes !== state.indexBytes) throw new Error(`index-${n}.bin is ${bytes} bytes, state says ${state.indexBytes}`);
  const graph = await HnswGraph.read(dimensions, indexPath, state.labels);
  if (graph.openedCount !== state.labels.length) {
    await graph.release();
    throw new Error(`index-${n}.bin holds ${graph.openedCount} slots, state has ${state.labels.length} labels`);
  }
  return { graph, state };
}

/**
 * Makes snapshot n live once its index file is written: fsyncs index-<n>.bin, writes
 * state-<n>.json, then switches CURRENT to n. Returns the index file's size.
 */
export async function commitSnapshot(dir: string, n: number, content: SnapshotContent): Promise<number> {
  const indexPath = indexFile(dir, n);
  await fsyncFile(indexPath);
  faultPoint('hnsw.snapshot.index-written');
  const indexBytes = (await stat(indexPath)).size;
  const state: SnapshotState = {
    format: 1,
    snapshot: n,
    dimensions: content.dimensions,
    space: GRAPH_SPACE,
    settings: content.settings,
    capacity: content.capacity,
    appliedSeq: content.appliedSeq,
    indexBytes,
    labels: content.labels,
    metadata: content.metadata,
    free: content.free,
  };
  // No rename needed: nothing reads state-<n>.json before CURRENT names it.
  await writeFileSynced(stateFile(dir, n), JSON.stringify(state));
  faultPoint('hnsw.snapshot.state-written');
  // The new files' directory entries must be durable before CURRENT can point at them.
  await fsyncDir(dir);
  await writeFileDurably(join(dir, CURRENT), `${n}\n`, { tempName: CURRENT_TMP });
  faultPoint('hnsw.snapshot.current-switched');
  return indexBytes;
}

/** Deletes every snapshot file but snapshot `keep`'s (older snapshots, debris of interrupted ones). */
export async function removeStaleSnapshots(dir: string, keep: number): Promise<void> {
  for (const name of await readdir(dir)) {
    const m = SNAPSHOT_FILE.exec(name);
    if (m && Number(m[2]) !== keep) {
      await unlink(join(dir, name)).catch(() => undefined);
      faultPoint('hnsw.snapshot.cleanup');
    }
  }
}

/** Writes config.json unless it already says the same. */
export async function writeConfig(dir: string, config: Record<string, unknown>): Promise<void> {
  const text = `${JSON.stringify(config, null, 2)}\n`;
  const path = join(dir, CONFIG);
  const existing = await readFile(path, 'utf8').catch(() => null);
  if (existing === text) return;
  await writeFileDurably(path, text, { tempName: `${CONFIG}.tmp` });
}
