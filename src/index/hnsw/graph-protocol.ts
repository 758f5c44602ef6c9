/**
 * Messages between HnswGraph handles (main thread) and the graph worker that owns the hnswlib
 * objects and their label -> id maps. They travel as RPC calls (src/util/worker-rpc.ts): a
 * ToGraphWorker request is answered with a GraphReply, or a failure whose detail is GraphFailureDetail.
 */

/** Every graph scores by cosine: vectors are normalized on insert and query. */
export const GRAPH_SPACE = 'cosine';

export interface GraphSettings {
  readonly dimensions: number;
  readonly maxElements: number;
  readonly M: number;
  readonly efConstruction: number;
}

export type GraphRequest =
  | { readonly op: 'create'; readonly settings: GraphSettings }
  /** `ids[label]`: the document at each slot of the file, null for a freed one. */
  | { readonly op: 'read'; readonly dimensions: number; readonly path: string; readonly ids: readonly (string | null)[] }
  /** `points` holds labels.length vectors back to back; `ids[i]` is the document at labels[i]. */
  | { readonly op: 'add'; readonly points: Float32Array; readonly labels: Int32Array; readonly ids: readonly string[] }
  | { readonly op: 'delete'; readonly labels: Int32Array }
  | { readonly op: 'resize'; readonly capacity: number }
  /** `allowed[label] === 1` for the labels a filtered search may return. */
  | { readonly op: 'search'; readonly point: Float32Array; readonly k: number; readonly ef: number; readonly allowed?: Uint8Array }
  | { readonly op: 'exact'; readonly point: Float32Array; readonly labels: Int32Array; readonly k: number }
  | { readonly op: 'write'; readonly path: string }
  | { readonly op: 'release' };

/** `graph` names the graph the request is for (numbered by the main thread). */
export type ToGraphWorker = GraphRequest & { readonly graph: number };

export interface GraphOpened {
  readonly capacity: number;
  /** Slots in the graph (live and deleted). */
  readonly count: number;
}

/**
 * Nearest first; distances are cosine distances (1 - similarity). Ids are resolved in the worker
 * from the graph's state at search time, so a label freed and reused meanwhile cannot be
 * reported as the wrong document.
 */
export interface GraphHits {
  readonly ids: readonly string[];
  readonly distances: Float32Array;
}

/** What a request resolves with: GraphOpened for create/read, GraphHits for search/exact, null otherwise. */
export type GraphReply = GraphOpened | GraphHits | null;

/** Sent with a failed request: for a failed add, how many of its points went in before the failure. */
export type GraphFailureDetail = number;
