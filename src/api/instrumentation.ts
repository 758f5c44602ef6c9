/** The service's Prometheus metrics: HTTP traffic, embedding batches and queues, index sizes. */
import type { Counter, Histogram } from 'prom-client';
import { stateValue } from '../lifecycle/drift/evaluate.ts';
import type { DriftMonitor } from '../lifecycle/drift/monitor.ts';
import type { SearchService } from '../search/service.ts';
import { MetricsRegistry } from './metrics.ts';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

type HttpLabel = 'route' | 'method' | 'status';

export interface ApiMetrics {
  readonly registry: MetricsRegistry;
  readonly requests: Counter<HttpLabel>;
  readonly latency: Histogram<HttpLabel>;
}

export function createMetrics(service: SearchService): ApiMetrics {
  const registry = new MetricsRegistry();
  const http: HttpLabel[] = ['route', 'method', 'status'];
  const requests = registry.counter('sextant_http_requests_total', 'HTTP requests by route, method and status', http);
  const latency = registry.histogram('sextant_http_request_duration_seconds', 'HTTP request latency by route, method and status', http, LATENCY_BUCKETS);
  const batchSizes = registry.histogram('sextant_embed_batch_size', 'Texts per inference batch', ['model'], BATCH_BUCKETS);
  const batchSeconds = registry.histogram('sextant_embed_batch_duration_seconds', 'Inference time per batch', ['model'], LATENCY_BUCKETS);
  const batchTokens = registry.counter('sextant_embed_tokens_total', 'Tokens embedded (real and padded)', ['model', 'kind']);
  service.engines.onBatch = (model, stats) => {
    batchSizes.observe({ model }, stats.items);
    batchSeconds.observe({ model }, stats.ms / 1000);
    batchTokens.inc({ model, kind: 'real' }, stats.realTokens);
    batchTokens.inc({ model, kind: 'padded' }, stats.paddedTokens);
  };
  registry.gauge('sextant_embed_queue_depth', 'Texts waiting in the embedding queue', ['model', 'device'], () =>
    service.engines.loaded().map((e) => ({ labels: { model: e.id, device: e.device }, value: e.queueDepth })),
  );
  registry.gauge('sextant_collection_documents', 'Documents per collection', ['collection', 'generation', 'backend'], () =>
    service.listCollections().map((c) => ({ labels: { collection: c.name, generation: String(c.generation), backend: c.backend }, value: c.documentCount })),
  );
  return { registry, requests, latency };
}

/** Drift gauges: state per collection (0 ok, 1 warning, 2 drifted) and kind, and the last window's metrics. */
export function registerDriftMetrics(metrics: ApiMetrics, drift: DriftMonitor): void {
  metrics.registry.gauge('sextant_drift_state', 'Drift state per collection: 0 ok, 1 warning, 2 drifted (worst over kinds)', ['collection'], () =>
    drift.gauges().states.filter((s) => s.kind === 'all').map((s) => ({ labels: { collection: s.collection }, value: stateValue(s.state) })),
  );
  metrics.registry.gauge('sextant_drift_kind_state', 'Drift state per collection and kind (queries, documents): 0 ok, 1 warning, 2 drifted', ['collection', 'kind'], () =>
    drift.gauges().states.filter((s) => s.kind !== 'all').map((s) => ({ labels: { collection: s.collection, kind: s.kind }, value: stateValue(s.state) })),
  );
  metrics.registry.gauge('sextant_drift_metric', 'Last evaluated drift window per collection, kind and metric', ['collection', 'kind', 'metric'], () =>
    drift.gauges().metrics.map((m) => ({ labels: { collection: m.collection, kind: m.kind, metric: m.metric }, value: m.value })),
  );
}
