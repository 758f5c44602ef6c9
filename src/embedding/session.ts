/**
 * Creates ONNX Runtime sessions on the requested device. onnxruntime-node throws (instead of
 * falling back) when asked for CUDA without its provider libraries, so we try CUDA alone,
 * and on failure log the reason once and build a CPU session.
 */
import * as ort from 'onnxruntime-node';
import { ModelLoadError } from '../errors.ts';
import { log } from '../log.ts';

export type Device = 'cpu' | 'cuda';

export interface SessionHandle {
  readonly session: ort.InferenceSession;
  /** Where inference actually runs. */
  readonly device: Device;
  /** Why the requested device is not the active one, when it is not. */
  readonly fallbackReason?: string;
}

const loggedFallbacks = new Set<string>();

function baseOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    enableCpuMemArena: true,
    enableMemPattern: true,
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
      if (!loggedFallbacks.has(reason)) {
        loggedFallbacks.add(reason);
        log.warn('SEXTANT_DEVICE=cuda requested but CUDA cannot be used; running on CPU', {
          reason,
          hint: 'install the CUDA provider with: ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node',
        });
      }
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
