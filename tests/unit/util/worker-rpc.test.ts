/** src/util/worker-rpc.ts against a real worker thread (tests/fixtures/rpc-worker.ts). */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcClient, type RpcClientOptions } from '../../../src/util/worker-rpc.ts';
import type { RpcTestRequest, RpcTestResponse } from '../../fixtures/rpc-worker.ts';

const BOOT = new URL('../../../src/util/worker-boot.mjs', import.meta.url);
const ENTRY = new URL('../../fixtures/rpc-worker.ts', import.meta.url).href;

class RemoteError extends Error {
  constructor(
    message: string,
    readonly detail: number | undefined,
  ) {
    super(message);
  }
}

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()));
});

function start(options: RpcClientOptions<number> = {}): { worker: Worker; rpc: RpcClient<RpcTestRequest, RpcTestResponse, number> } {
  const worker = new Worker(BOOT, { workerData: { entry: ENTRY } });
  workers.push(worker);
  return { worker, rpc: new RpcClient<RpcTestRequest, RpcTestResponse, number>(worker, options) };
}

describe('worker RPC', () => {
  it('answers each call with its own response, whatever order the worker finishes in', async () => {
    const { rpc } = start();
    const slow = rpc.call({ op: 'delay', ms: 150, value: 'slow' });
    const fast = rpc.call({ op: 'delay', ms: 0, value: 'fast' });
    const echoes = Array.from({ length: 50 }, (_, i) => rpc.call({ op: 'echo', value: { i, text: `t${i}` } }));
    expect(rpc.inFlight).toBe(52);
    const order: string[] = [];
    await Promise.all([slow.then((v) => order.push(v as string)), fast.then((v) => order.push(v as string))]);
    expect(order).toEqual(['fast', 'slow']);
    expect(await Promise.all(echoes)).toEqual(Array.from({ length: 50 }, (_, i) => ({ i, text: `t${i}` })));
    expect(rpc.inFlight).toBe(0);
  });

  it('moves transferred buffers both ways', async () => {
    const { rpc } = start();
    const data = Float64Array.from([1, 2, 3]);
    const pending = rpc.call<Float64Array>({ op: 'double', data }, [data.buffer]);
    // Transferred, not copied: the buffer now belongs to the worker.
    expect(data.byteLength).toBe(0);
    const doubled = await pending;
    expect(doubled).toBeInstanceOf(Float64Array);
    expect([...doubled]).toEqual([2, 4, 6]);
  });

  it('rejects with the error the client maps a worker failure to, detail included', async () => {
    const { rpc } = start({ remoteError: (message, detail) => new RemoteError(`remote: ${message}`, detail) });
    const failed = rpc.call({ op: 'fail', message: 'partial', detail: 7 });
    await expect(failed).rejects.toBeInstanceOf(RemoteError);
    await expect(failed).rejects.toMatchObject({ message: 'remote: partial', detail: 7 });
    await expect(rpc.call({ op: 'fail', message: 'plain' })).rejects.toMatchObject({ message: 'remote: plain', detail: undefined });
    await expect(rpc.call({ op: 'throw-sync', message: 'sync' })).rejects.toMatchObject({ message: 'remote: sync' });
    // A response that cannot be cloned comes back as a failure instead of killing the worker.
    await expect(rpc.call({ op: 'unclonable' })).rejects.toBeInstanceOf(RemoteError);
    // The worker is still serving.
    expect(await rpc.call({ op: 'echo', value: 1 })).toBe(1);
    expect(rpc.failure).toBeUndefined();
  });

  it('defaults to a plain Error carrying the worker-side message', async () => {
    const { rpc } = start();
    await expect(rpc.call({ op: 'fail', message: 'boom' })).rejects.toThrow(/^boom$/);
  });

  it('rejects a request that cannot be sent without leaving it pending', async () => {
    const { rpc } = start();
    await expect(rpc.call({ op: 'echo', value: () => 1 })).rejects.toThrow();
    expect(rpc.inFlight).toBe(0);
    expect(await rpc.call({ op: 'echo', value: 'still fine' })).toBe('still fine');
  });

  it('rejects every pending and later call once the worker exits', async () => {
    const failures: Error[] = [];
    const { worker, rpc } = start({ exitError: (code) => new Error(`gone (${code})`), onFailure: (err) => failures.push(err) });
    const pending = [rpc.call({ op: 'delay', ms: 10_000, value: 1 }), rpc.call({ op: 'delay', ms: 10_000, value: 2 })];
    const exited = new Promise((r) => worker.once('exit', r));
    const exitCall = rpc.call({ op: 'exit', code: 3 });
    for (const p of [...pending, exitCall]) await expect(p).rejects.toThrow('gone (3)');
    await exited;
    expect(rpc.failure?.message).toBe('gone (3)');
    await expect(rpc.call({ op: 'echo', value: 1 })).rejects.toBe(rpc.failure);
    expect(rpc.inFlight).toBe(0);
    expect(failures.map((e) => e.message)).toEqual(['gone (3)']);
  });

  it('reports a crash with the crash error, not the exit that follows', async () => {
    const failures: Error[] = [];
    const { worker, rpc } = start({
      crashError: (err) => new Error(`crashed: ${err.message}`),
      exitError: () => new Error('exited'),
      onFailure: (err) => failures.push(err),
    });
    const pending = rpc.call({ op: 'delay', ms: 10_000, value: 1 });
    const exited = new Promise((r) => worker.once('exit', r));
    await expect(rpc.call({ op: 'crash', message: 'kaput' })).rejects.toThrow('crashed: kaput');
    await expect(pending).rejects.toThrow('crashed: kaput');
    await exited;
    expect(failures.map((e) => e.message)).toEqual(['crashed: kaput']);
    await expect(rpc.call({ op: 'echo', value: 1 })).rejects.toThrow('crashed: kaput');
  });

  it('leaves messages outside RPC to the port\'s other listeners', async () => {
    const { worker, rpc } = start();
    const pong = new Promise((r) => worker.on('message', (m: { type?: string }) => m.type === 'pong' && r(m)));
    worker.postMessage({ type: 'ping' });
    expect(await pong).toEqual({ type: 'pong' });
    expect(await rpc.call({ op: 'echo', value: 'after ping' })).toBe('after ping');
  });

  it('with refWhileBusy, an idle worker does not keep the process alive, a busy one does', () => {
    // In a child process: it must exit on its own once its only call has been answered.
    const child = spawnSync(process.execPath, ['--import', 'tsx', resolve('tests/fixtures/rpc-idle-child.ts')], { encoding: 'utf8', timeout: 30_000 });
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    // The pending call held the process open until the answer came.
    expect(child.stdout.trim()).toBe('answered');
    // It exited by itself (spawnSync's timeout would have killed it with a signal).
    expect(child.signal).toBeNull();
  });
});
