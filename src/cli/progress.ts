/** A one-line progress bar on stderr (a line every few seconds when stderr is not a terminal). */
import type { BulkProgress } from '../ingest/bulk.ts';

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const whole = Math.ceil(seconds);
  if (whole < 60) return `${whole}s`;
  return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/**
 * With bytes (a streamed file, whose number of documents is known only at the end) the bar and
 * percentage follow the bytes done; otherwise the documents done of `total`.
 */
export function progressBar(label: string): { update(p: BulkProgress): void; finish(p: BulkProgress): void } {
  const tty = process.stderr.isTTY;
  let lastPrint = 0;
  const render = (p: BulkProgress) => {
    const width = 28;
    const byBytes = p.bytesTotal !== undefined && p.bytesDone !== undefined;
    const fraction = byBytes ? (p.bytesTotal! > 0 ? Math.min(1, p.bytesDone! / p.bytesTotal!) : 1) : p.total !== undefined && p.total > 0 ? p.done / p.total : 1;
    const filled = Math.round(fraction * width);
    const pct = (100 * fraction).toFixed(0);
    const count = p.total !== undefined ? `${p.done}/${p.total}` : `${p.done} docs`;
    const size = byBytes ? ` (${formatBytes(p.bytesDone!)} of ${formatBytes(p.bytesTotal!)})` : '';
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${count} ${pct}%${size} ${p.docsPerSecond.toFixed(0)} docs/s ETA ${formatEta(p.etaSeconds)}`;
  };
  return {
    update(p) {
      const now = Date.now();
      if (tty) process.stderr.write(`\r${render(p)}\x1b[K`);
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
