// Small pieces every page uses: templates (htm over Preact), polling, badges, progress, errors,
// and a confirmation dialog.
import { h } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';

export const html = htm.bind(h);

/**
 * Loads `load()` now and every `intervalMs` (0: once) while the page is shown; `reload` loads at
 * once. Keeps the last good data when a reload fails, and reports the failure.
 */
export function usePoll(load, intervalMs, deps) {
  const [state, setState] = useState({ data: undefined, error: undefined });
  const alive = useRef(true);
  const run = useCallback(async () => {
    try {
      const data = await load();
      if (alive.current) setState({ data, error: undefined });
    } catch (error) {
      if (alive.current) setState((s) => ({ data: s.data, error }));
    }
  }, deps);
  useEffect(() => {
    alive.current = true;
    run();
    const timer = intervalMs > 0 ? setInterval(run, intervalMs) : undefined;
    return () => {
      alive.current = false;
      if (timer) clearInterval(timer);
    };
  }, [run, intervalMs]);
  return { ...state, reload: run };
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error.explanation ?? error.message}</p>`;
}

const DRIFT_CLASS = { ok: 'ok', warning: 'warn', drifted: 'bad' };
export function DriftBadge({ state }) {
  const label = state ?? 'unknown';
  return html`<span class=${`badge ${DRIFT_CLASS[label] ?? 'none'}`} data-drift=${label}>${label}</span>`;
}

const JOB_CLASS = { succeeded: 'ok', running: 'run', queued: 'run', failed: 'bad', cancelled: 'none' };
export function StateBadge({ state }) {
  return html`<span class=${`badge ${JOB_CLASS[state] ?? 'none'}`} data-state=${state}>${state}</span>`;
}

export function Progress({ job }) {
  const pct = job.total > 0 ? Math.min(100, (100 * job.done) / job.total) : job.state === 'succeeded' ? 100 : 0;
  return html`<div class="progress-cell">
    <progress max="100" value=${pct} aria-label=${`job ${job.id} progress`}></progress>
    <span class="progress-text" data-done=${job.done} data-total=${job.total}>${job.done}/${job.total}</span>
    ${job.docs_per_s != null ? html`<span class="muted">${fmt(job.docs_per_s, 1)} docs/s</span>` : null}
    ${job.eta_seconds != null && job.state === 'running' ? html`<span class="muted">ETA ${duration(job.eta_seconds)}</span>` : null}
  </div>`;
}

/** A modal question; resolves true when confirmed. One at a time, built on <dialog>. */
export function useConfirm() {
  const [ask, setAsk] = useState(null);
  const dialog = useRef(null);
  useEffect(() => {
    if (ask && dialog.current && !dialog.current.open) dialog.current.showModal();
  }, [ask]);
  const confirm = (message, action) =>
    new Promise((resolve) => {
      setAsk({ message, action, resolve });
    });
  const close = (answer) => {
    dialog.current?.close();
    ask?.resolve(answer);
    setAsk(null);
  };
  const element = ask
    ? html`<dialog ref=${dialog} class="confirm" aria-labelledby="confirm-text" onCancel=${(e) => (e.preventDefault(), close(false))}>
        <p id="confirm-text">${ask.message}</p>
        <div class="row">
          <button type="button" class="danger" onClick=${() => close(true)}>${ask.action}</button>
          <button type="button" onClick=${() => close(false)}>Cancel</button>
        </div>
      </dialog>`
    : null;
  return [confirm, element];
}

export function fmt(value, digits = 3) {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '–';
}

export function duration(seconds) {
  if (!Number.isFinite(seconds)) return '–';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export function when(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** Tables scroll sideways inside their box on a narrow screen instead of widening the page. */
export function Table({ caption, children, label }) {
  return html`<div class="table-wrap" role="region" aria-label=${label ?? caption} tabindex="0">
    <table>${caption ? html`<caption>${caption}</caption>` : null}${children}</table>
  </div>`;
}

export function Json({ value }) {
  if (value == null || (typeof value === 'object' && Object.keys(value).length === 0)) return html`<span class="muted">–</span>`;
  return html`<code class="json">${JSON.stringify(value)}</code>`;
}
