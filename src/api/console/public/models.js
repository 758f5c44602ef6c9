// Models: every version in the registry, its aliases, the collections that use it, and for trained
// versions their lineage (parent, kind, collection, the data they saw, validation before/after).
import { enc, get } from './api.js';
import { ErrorBox, fmt, html, Json, Table, usePoll, when } from './ui.js';

/** A lineage's validation figures ({"dense.ndcg@10": 0.41, …}), the parent's → the trained version's. */
export function ValidationFigures({ validation }) {
  if (!validation || !validation.before || !validation.after) return html`<span class="muted">–</span>`;
  const names = Object.keys(validation.after).filter((n) => /ndcg@10$/.test(n));
  if (names.length === 0) return html`<${Json} value=${validation} />`;
  return html`<ul class="compact">
    ${names.map((n) => html`<li>${n}: ${fmt(validation.before[n])} → <strong>${fmt(validation.after[n])}</strong></li>`)}
  </ul>`;
}

export function Lineage({ lineage }) {
  if (!lineage) return html`<span class="muted">–</span>`;
  const data = lineage.data ?? {};
  return html`<dl class="facts small">
    <dt>Kind</dt><dd>${lineage.kind}</dd>
    <dt>Parent</dt><dd>${lineage.parent}${lineage.teacher ? ` (teacher ${lineage.teacher})` : ''}</dd>
    <dt>Collection</dt><dd>${lineage.collection ?? '–'}</dd>
    <dt>Data</dt><dd>${data.documents ?? '–'} documents, ${data.pseudoQueries ?? '–'} pseudo-queries, ${data.feedback ?? 0} feedback</dd>
    <dt>Seed</dt><dd>${lineage.seed ?? '–'}</dd>
    <dt>Validation</dt><dd><${ValidationFigures} validation=${lineage.validation} /></dd>
    <dt>Created</dt><dd>${when(lineage.createdAt)}</dd>
  </dl>`;
}

export function ModelsPage() {
  const { data, error } = usePoll(() => get('/v1/models'), 10_000, []);
  return html`<h1>Models</h1>
    <${ErrorBox} error=${error} />
    ${data
      ? html`<${Table} caption="Model versions">
          <thead><tr><th scope="col">Version</th><th scope="col">Dimensions</th><th scope="col">Type</th><th scope="col">Aliases</th><th scope="col">Used by</th><th scope="col">Lineage</th></tr></thead>
          <tbody>
            ${data.data.map(
              (m) => html`<tr data-model=${m.id}>
                <th scope="row">${m.id}</th>
                <td class="num">${m.dimensions}</td>
                <td>${m.dtype}, ${m.pooling}, ${m.max_tokens} tokens</td>
                <td>${m.aliases.length ? m.aliases.map((a) => html`<span class="chip">${a}</span>`) : html`<span class="muted">–</span>`}</td>
                <td>${m.collections.length ? m.collections.map((c) => html`<a class="chip" href=${`#/collections/${enc(c)}`}>${c}</a>`) : html`<span class="muted">none</span>`}</td>
                <td><${Lineage} lineage=${m.lineage} /></td>
              </tr>`,
            )}
          </tbody>
        <//>`
      : html`<p class="loading">Loading…</p>`}`;
}
