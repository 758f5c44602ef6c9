/**
 * ORT sessions for training graphs, created once per graph and shape family (the key names the
 * graph and every fixed dimension and constant baked into it) and reused across steps and runs:
 * a worker that trains one collection after another builds each session once.
 */
import { GraphRunner, type GraphRunnerOptions } from './runner.ts';

export class SessionCache {
  private readonly sessions = new Map<string, Promise<GraphRunner>>();

  constructor(readonly options: GraphRunnerOptions = {}) {}

  get(key: string, build: () => Uint8Array): Promise<GraphRunner> {
    let session = this.sessions.get(key);
    if (!session) {
      session = GraphRunner.open(build(), this.options);
      // A failed creation is not cached: the next call tries again.
      session.catch(() => this.sessions.delete(key));
      this.sessions.set(key, session);
    }
    return session;
  }

  get size(): number {
    return this.sessions.size;
  }

  async release(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.then((r) => r.release(), () => undefined)));
  }
}
