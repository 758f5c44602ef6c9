/**
 * Creates ONNX Runtime sessions on the requested device. onnxruntime-node throws (instead of
 * falling back) when asked for CUDA without its provider libraries, so we try CUDA alone,
 * and on failure log the reason once and build a CPU session.
 */
import * as ort from 'onnxruntime-node';
import { ModelLoadError } from '../errors.ts';

export type Device = 'cpu' | 'cuda';

export interface SessionHandle {
  readonly session: ort.InferenceSession;
  /** Where inference actually runs. */
  readonly device: Device;
  /** Why the requested device is not the active one, when it is not. */
  readonly fallbackReason?: string;
}

function baseOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    enableCpuMemArena: true,
    enableMemPattern: true,
    // ORT's pool threads spin between parallel sections by default. The server's event loop shares
    // the cores with them, so spinning steals the CPU that parses requests: measured at 32 HTTP
    // clients, text search went from 355 to 452 q/s with spinning off.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  };
}

async function create(path: string, options: ort.InferenceSession.SessionOptions): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path, options);
}

export async function createSession(path: string, device: Device, threads: number): Promise<SessionHandle> {
  if (device === 'cuda') {
    try {
      const session = await create(path, { ...baseOptions(threads), executionProviders: ['cuda'] });
      return { session, device: 'cuda' };
    } catch (err) {
      const reason = `CUDA execution provider unavailable: ${(err as Error).message.split('\n')[0]}`;
      return { session: await createCpu(path, threads), device: 'cpu', fallbackReason: reason };
    }
  }
  return { session: await createCpu(path, threads), device: 'cpu' };
}

async function createCpu(path: string, threads: number): Promise<ort.InferenceSession> {
  try {
    return await create(path, { ...baseOptions(threads), executionProviders: ['cpu'] });
  } catch (err) {
    throw new ModelLoadError(`onnxruntime cannot load ${path}: ${(err as Error).message}`);
  }
}
