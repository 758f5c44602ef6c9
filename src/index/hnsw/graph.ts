/**
 * HnswGraph: the main thread's handle on one hnswlib graph living in the graph worker
 * (graph-worker.ts). All graphs of the process share one worker, started with the first graph.
 * The worker keeps the process alive only while a request is outstanding, so a CLI run that
 * opened an index still exits on its own.
 */
import { Worker, type TransferListItem } from 'node:worker_threads';
import { RpcClient } from '../../util/worker-rpc.ts';
import type { GraphFailureDetail, GraphHits, GraphOpened, GraphReply, GraphRequest, GraphSettings, ToGraphWorker } from './graph-protocol.ts';

/** A graph operation that failed in the worker; `applied` counts the points a failed add did insert. */
export class GraphOperationError extends Error {
  constructor(
    message: string,
    readonly applied: number | undefined,
  ) {
    super(message);
    this.name = 'GraphOperationError';
  }
}

class GraphHost {
  private readonly rpc: RpcClient<ToGraphWorker, GraphReply, GraphFailureDetail>;
  private nextGraph = 1;

  constructor() {
    const entry = new URL('./graph-worker.ts', import.meta.url).href;
    const worker = new Worker(new URL('../../util/worker-boot.mjs', import.meta.url), { workerData: { entry } });
    this.rpc = new RpcClient(worker, {
      remoteError: (message, applied) => new GraphOperationError(message, applied),
      crashError: (err) => new Error(`hnsw graph worker crashed: ${err.message}`),
      exitError: (code) => new Error(`hnsw graph worker exited with code ${code}`),
      refWhileBusy: true,
      // The next graph opened starts a fresh worker.
      onFailure: () => {
        if (host === this) host = undefined;
      },
    });
  }

  newGraphId(): number {
    return this.nextGraph++;
  }

  request<T extends GraphReply>(graph: number, request: GraphRequest, transfer: TransferListItem[] = []): Promise<T> {
    return this.rpc.call<T>({ ...request, graph }, transfer);
  }
}

let host: GraphHost | undefined;

function sharedHost(): GraphHost {
  host ??= new GraphHost();
  return host;
}

export class HnswGraph {
  private constructor(
    private readonly host: GraphHost,
    private readonly id: number,
    private allocated: number,
    /** Slots (live and deleted) when opened. */
    readonly openedCount: number,
  ) {}

  static create(settings: GraphSettings): Promise<HnswGraph> {
    return HnswGraph.open({ op: 'create', settings });
  }

  /** Loads an index file written by `write`; `ids[label]` names each slot's document (null: free). */
  static read(dimensions: number, path: string, ids: readonly (string | null)[]): Promise<HnswGraph> {
    return HnswGraph.open({ op: 'read', dimensions, path, ids });
  }

  private static async open(request: GraphRequest): Promise<HnswGraph> {
    const h = sharedHost();
    const id = h.newGraphId();
    const opened = await h.request<GraphOpened>(id, request);
    return new HnswGraph(h, id, opened.capacity, opened.count);
  }

  /** Allocated slots (hnswlib's maxElements). */
  get capacity(): number {
    return this.allocated;
  }

  async resize(capacity: number): Promise<void> {
    await this.host.request(this.id, { op: 'resize', capacity });
    this.allocated = capacity;
  }

  /** Inserts or overwrites `labels[i]` with the i-th vector of `points` as document `ids[i]`, in order. */
  async add(points: Float32Array, labels: Int32Array, ids: readonly string[]): Promise<void> {
    await this.host.request(this.id, { op: 'add', points, labels, ids }, [points.buffer as ArrayBuffer, labels.buffer as ArrayBuffer]);
  }

  async markDeleted(labels: Int32Array): Promise<void> {
    await this.host.request(this.id, { op: 'delete', labels }, [labels.buffer as ArrayBuffer]);
  }

  search(point: Float32Array, k: number, ef: number, allowed?: Uint8Array): Promise<GraphHits> {
    return this.host.request<GraphHits>(this.id, { op: 'search', point, k, ef, ...(allowed ? { allowed } : {}) }, allowed ? [allowed.buffer as ArrayBuffer] : []);
  }

  /** Exact cosine top-k over `labels`. */
  exact(point: Float32Array, labels: Int32Array, k: number): Promise<GraphHits> {
    return this.host.request<GraphHits>(this.id, { op: 'exact', point, labels, k }, [labels.buffer as ArrayBuffer]);
  }

  async write(path: string): Promise<void> {
    await this.host.request(this.id, { op: 'write', path });
  }

  /** Frees the graph's memory in the worker. */
  async release(): Promise<void> {
    await this.host.request(this.id, { op: 'release' });
  }
}
