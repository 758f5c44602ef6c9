/**
 * Runs training graphs (src/training/graphs.ts) on ONNX Runtime's CPU provider. One session per
 * graph and shape family: the batch dimensions are symbolic, so a session is created once per
 * training run and serves every step (creating the 512-d adapter step's session measured 36 ms,
 * about one Cranfield step).
 */
import * as ort from 'onnxruntime-node';

export type FeedData = Float32Array | BigInt64Array;

export interface Feed {
  readonly data: FeedData;
  readonly dims: readonly number[];
}

export interface GraphRunnerOptions {
  /** ORT intra-op threads (default: all cores; a server that trains in the background may pass fewer). */
  readonly threads?: number;
  /**
   * Let ORT's pool threads spin between parallel sections (default false, as in
   * src/embedding/session.ts: spinning steals the cores that a serving event loop needs).
   */
  readonly spinning?: boolean;
}

export class GraphRunner {
  private constructor(private readonly session: ort.InferenceSession) {}

  static async open(model: Uint8Array, options: GraphRunnerOptions = {}): Promise<GraphRunner> {
    const session = await ort.InferenceSession.create(model, {
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      interOpNumThreads: 1,
      ...(options.threads !== undefined ? { intraOpNumThreads: options.threads } : {}),
      extra: { session: { intra_op: { allow_spinning: options.spinning ? '1' : '0' } } },
    });
    return new GraphRunner(session);
  }

  /** Runs the graph; each requested output comes back as a typed array in row-major order. */
  async run<K extends string>(feeds: Readonly<Record<string, Feed>>, outputs: readonly K[]): Promise<Record<K, FeedData>> {
    const tensors: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(feeds)) {
      tensors[name] = f.data instanceof BigInt64Array ? new ort.Tensor('int64', f.data, [...f.dims]) : new ort.Tensor('float32', f.data, [...f.dims]);
    }
    const result = await this.session.run(tensors, [...outputs]);
    const out = {} as Record<K, FeedData>;
    for (const k of outputs) out[k] = result[k]!.data as FeedData;
    return out;
  }

  /** Runs the graph and returns float outputs (every training output but TopK's indices). */
  async runFloat<K extends string>(feeds: Readonly<Record<string, Feed>>, outputs: readonly K[]): Promise<Record<K, Float32Array>> {
    const out = await this.run(feeds, outputs);
    for (const k of outputs) if (!(out[k] instanceof Float32Array)) throw new Error(`graph output ${k} is not float32`);
    return out as Record<K, Float32Array>;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

export const feed = (data: FeedData, dims: readonly number[]): Feed => ({ data, dims });

/** int64 row indices, as the graphs' `target` inputs take them. */
export function int64(values: ArrayLike<number>): BigInt64Array {
  const out = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = BigInt(values[i]!);
  return out;
}
