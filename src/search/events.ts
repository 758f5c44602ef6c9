/**
 * What the search service observes, published for subscribers (drift detection, metrics)
 * without the service knowing who listens: services below never import services beside them.
 */
export interface QueryObserved {
  readonly collection: string;
  readonly generation: number;
  readonly model: string;
  readonly mode: 'dense' | 'keyword' | 'hybrid';
  /** Embedded query text (absent for vector queries and keyword mode). */
  readonly queryVector?: Float32Array;
  readonly topScore?: number;
  readonly tokens?: number;
  readonly unknownTokens?: number;
  readonly truncated?: boolean;
}

export interface DocumentsObserved {
  readonly collection: string;
  readonly generation: number;
  readonly vectors: readonly Float32Array[];
  readonly tokens: readonly number[];
  readonly unknownTokens: readonly number[];
  readonly truncated: readonly boolean[];
}

type Listener<T> = (event: T) => void;

export class SearchEvents {
  private readonly queryListeners = new Set<Listener<QueryObserved>>();
  private readonly documentListeners = new Set<Listener<DocumentsObserved>>();

  onQuery(listener: Listener<QueryObserved>): () => void {
    this.queryListeners.add(listener);
    return () => this.queryListeners.delete(listener);
  }

  onDocuments(listener: Listener<DocumentsObserved>): () => void {
    this.documentListeners.add(listener);
    return () => this.documentListeners.delete(listener);
  }

  /** Listener errors are contained: observing must never fail a search. */
  emitQuery(event: QueryObserved): void {
    for (const l of this.queryListeners) safely(() => l(event));
  }

  emitDocuments(event: DocumentsObserved): void {
    for (const l of this.documentListeners) safely(() => l(event));
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // A faulty subscriber is its own problem; the search result stands.
  }
}
