// Worker threads do not inherit the TypeScript loader the main thread registered, so each
// worker (inference, HNSW graphs) registers tsx itself before loading its TypeScript entry point.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
