/** A one-line progress bar on stderr (a line every few seconds when stderr is not a terminal). */
import type { BulkProgress } from '../ingest/bulk.ts';

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  return `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;
}

export function progressBar(label: string): { update(p: BulkProgress): void; finish(p: BulkProgress): void } {
  const tty = process.stderr.isTTY;
  let lastPrint = 0;
  const render = (p: BulkProgress) => {
    const width = 28;
    const filled = p.total > 0 ? Math.round((p.done / p.total) * width) : width;
    const pct = p.total > 0 ? ((100 * p.done) / p.total).toFixed(0) : '100';
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total} ${pct}% ${p.docsPerSecond.toFixed(0)} docs/s ETA ${formatEta(p.etaSeconds)}`;
  };
  return {
    update(p) {
      const now = Date.now();
      if (tty) process.stderr.write(`\r${render(p)}`);
      else if (now - lastPrint > 2000) {
        process.stderr.write(`${render(p)}\n`);
        lastPrint = now;
      }
    },
    finish(p) {
      process.stderr.write(`${tty ? '\r' : ''}${render(p)}\n`);
    },
  };
}
