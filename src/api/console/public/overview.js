// Overview: every collection (documents, live model, backend, drift, running jobs) and whether
// the server is ready (device, models loaded). Refreshed every 5 s.
import { enc, get } from './api.js';
import { DriftBadge, ErrorBox, html, Progress, Table, usePoll } from './ui.js';

const REFRESH_MS = 5000;

async function loadOverview() {
  const [{ collections }, { jobs }, ready] = await Promise.all([get('/v1/collections'), get('/v1/jobs'), get('/readyz').catch((e) => ({ status: 'unknown', error: e }))]);
  const drift = await Promise.all(collections.map((c) => get(`/v1/collections/${enc(c.name)}/drift`).then((d) => d.state, () => undefined)));
  return { collections: collections.map((c, i) => ({ ...c, drift: drift[i] })), jobs, ready };
}

export function OverviewPage() {
  const { data, error } = usePoll(loadOverview, REFRESH_MS, []);
  return html`<h1>Overview</h1>
    <${ErrorBox} error=${error} />
    ${data ? html`<${Readiness} ready=${data.ready} /><${Collections} collections=${data.collections} jobs=${data.jobs} />` : html`<p class="loading">Loading…</p>`}`;
}

function Readiness({ ready }) {
  return html`<section aria-labelledby="ready-h" class="card">
    <h2 id="ready-h">Server</h2>
    <dl class="facts">
      <dt>Status</dt><dd><span class=${`badge ${ready.status === 'ready' ? 'ok' : 'warn'}`} data-ready=${ready.status}>${ready.status}</span></dd>
      <dt>Device</dt><dd>${ready.device ?? '–'}</dd>
      <dt>Models loaded</dt><dd>${(ready.models ?? []).map((m) => html`<span class="chip">${m.id} (${m.device})</span>`)}${(ready.models ?? []).length === 0 ? '–' : null}</dd>
      <dt>Store</dt><dd>${ready.store ?? '–'}</dd>
    </dl>
  </section>`;
}

function Collections({ collections, jobs }) {
  if (collections.length === 0) return html`<p>No collections yet. Create one with <code>POST /v1/collections</code> or <code>sextant index</code>.</p>`;
  return html`<${Table} caption="Collections">
    <thead><tr><th scope="col">Name</th><th scope="col">Documents</th><th scope="col">Live model</th><th scope="col">Backend</th><th scope="col">Drift</th><th scope="col">Running jobs</th></tr></thead>
    <tbody>
      ${collections.map((c) => {
        const running = jobs.filter((j) => j.collection === c.name && (j.state === 'running' || j.state === 'queued'));
        return html`<tr data-collection=${c.name}>
          <th scope="row"><a href=${`#/collections/${enc(c.name)}`}>${c.name}</a></th>
          <td class="num" data-field="document_count">${c.document_count}</td>
          <td>${c.model}${c.target !== c.model ? html` <span class="muted">(target ${c.target})</span>` : null}</td>
          <td>${c.backend}</td>
          <td><${DriftBadge} state=${c.drift} /></td>
          <td>${running.length === 0 ? html`<span class="muted">none</span>` : running.map((j) => html`<div><span class="chip">${j.type ?? j.kind}</span><${Progress} job=${j} /></div>`)}</td>
        </tr>`;
      })}
    </tbody>
  <//>`;
}
