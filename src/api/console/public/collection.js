// One collection: a search playground, its documents, drift charts, jobs, generations (with
// rollback) and evaluation. Each tab reads the API when it is shown.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { can, del, enc, get, post } from './api.js';
import { MetricChart } from './chart.js';
import { JobsTable, useJobs } from './jobs.js';
import { Lineage } from './models.js';
import { DriftBadge, ErrorBox, fmt, html, Json, StateBadge, Table, usePoll, useConfirm, when } from './ui.js';

const TABS = [
  ['search', 'Search'],
  ['documents', 'Documents'],
  ['drift', 'Drift'],
  ['jobs', 'Jobs'],
  ['generations', 'Generations'],
  ['evaluation', 'Evaluation'],
];

export function CollectionPage({ name, tab, role }) {
  const base = `/v1/collections/${enc(name)}`;
  const info = usePoll(() => get(base), 5000, [base]);
  const c = info.data;
  const current = TABS.some(([id]) => id === tab) ? tab : 'search';
  return html`<h1>${name}</h1>
    <${ErrorBox} error=${info.error} />
    ${c
      ? html`<p class="summary">
          <span data-field="document_count">${c.document_count}</span> documents · model <strong data-field="model">${c.model}</strong>
          ${c.target !== c.model ? html` (target ${c.target})` : null} · ${c.backend} · generation <span data-field="generation">${c.generation}</span> · hybrid α ${fmt(c.hybrid_alpha, 2)}
        </p>`
      : null}
    <nav class="tabs" aria-label="Collection sections">
      ${TABS.map(([id, label]) => html`<a href=${`#/collections/${enc(name)}?tab=${id}`} aria-current=${id === current ? 'page' : undefined} data-tab=${id}>${label}</a>`)}
    </nav>
    <section class="tab-panel" aria-label=${TABS.find(([id]) => id === current)[1]}>
      ${current === 'search' && c ? html`<${SearchPlayground} base=${base} collection=${c} />` : null}
      ${current === 'documents' ? html`<${Documents} base=${base} role=${role} onChange=${info.reload} />` : null}
      ${current === 'drift' ? html`<${Drift} base=${base} />` : null}
      ${current === 'jobs' && c ? html`<${CollectionJobs} name=${name} base=${base} collection=${c} role=${role} />` : null}
      ${current === 'generations' ? html`<${Generations} base=${base} role=${role} onChange=${info.reload} />` : null}
      ${current === 'evaluation' ? html`<${Evaluation} base=${base} role=${role} />` : null}
    </section>`;
}

/* ---------- search playground ---------- */

function parseFilter(text) {
  if (text.trim() === '') return { filter: undefined };
  try {
    const value = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return { problem: 'the filter must be a JSON object, e.g. {"year": {"$gte": 1960}}' };
    return { filter: value };
  } catch (err) {
    return { problem: `not valid JSON: ${err.message}` };
  }
}

function SearchPlayground({ base, collection }) {
  const [query, setQuery] = useState('');
  const [mode, setMode] = useState('hybrid');
  const [alpha, setAlpha] = useState(collection.hybrid_alpha);
  const [k, setK] = useState(10);
  const [filterText, setFilterText] = useState('');
  const [explain, setExplain] = useState(true);
  const [result, setResult] = useState(undefined);
  const [request, setRequest] = useState(undefined);
  const [error, setError] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const filter = parseFilter(filterText);
  const submit = async (event) => {
    event.preventDefault();
    if (filter.problem) return;
    const body = { query, mode, k: Number(k), include_text: true, explain };
    if (mode === 'hybrid') body.alpha = Number(alpha);
    if (filter.filter) body.filter = filter.filter;
    setBusy(true);
    setRequest(body);
    try {
      setResult(await post(`${base}/search`, body));
      setError(undefined);
    } catch (err) {
      setError(err);
      setResult(undefined);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="playground" onSubmit=${submit} aria-label="Search playground">
      <div class="field wide">
        <label for="q">Query</label>
        <input id="q" name="query" type="search" required value=${query} onInput=${(e) => setQuery(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="mode">Mode</label>
        <select id="mode" name="mode" value=${mode} onChange=${(e) => setMode(e.currentTarget.value)}>
          <option value="dense">dense</option><option value="keyword">keyword</option><option value="hybrid">hybrid</option>
        </select>
      </div>
      <div class="field">
        <label for="alpha">Alpha (dense weight): <output for="alpha">${fmt(Number(alpha), 2)}</output></label>
        <input id="alpha" name="alpha" type="range" min="0" max="1" step="0.05" value=${alpha} disabled=${mode !== 'hybrid'} onInput=${(e) => setAlpha(e.currentTarget.value)} />
      </div>
      <div class="field">
        <label for="k">k</label>
        <input id="k" name="k" type="number" min="1" max="1000" value=${k} onInput=${(e) => setK(e.currentTarget.value)} />
      </div>
      <div class="field wide">
        <label for="filter">Filter (JSON, optional)</label>
        <textarea id="filter" name="filter" rows="2" spellcheck="false" aria-invalid=${filter.problem ? 'true' : 'false'} aria-describedby="filter-help" placeholder='{"year": {"$gte": 1960}}' value=${filterText} onInput=${(e) => setFilterText(e.currentTarget.value)}></textarea>
        <small id="filter-help" class=${filter.problem ? 'error-text' : 'muted'}>${filter.problem ?? 'Operators: $eq $ne $in $nin $gt $gte $lt $lte, $and / $or'}</small>
      </div>
      <div class="field check">
        <input id="explain" name="explain" type="checkbox" checked=${explain} onChange=${(e) => setExplain(e.currentTarget.checked)} />
        <label for="explain">Explain (ranks, passages, terms)</label>
      </div>
      <div class="field"><button type="submit" disabled=${busy || !!filter.problem || query.trim() === ''}>Search</button></div>
    </form>
    <${ErrorBox} error=${error} />
    ${result ? html`<${Hits} result=${result} request=${request} />` : null}`;
}

/** The text with its two passages that carry the dense score most marked; long texts cut around the first. */
function highlighted(text, passages) {
  const marks = (passages ?? []).slice(0, 2).filter((p) => p.score > 0).sort((a, b) => a.start - b.start);
  if (marks.length === 0) return text.length > 400 ? `${text.slice(0, 400)}…` : text;
  const parts = [];
  let at = 0;
  for (const p of marks) {
    if (p.start < at) continue;
    parts.push(text.slice(at, p.start), html`<mark title=${`dense score −${fmt(p.score, 4)} without it`}>${text.slice(p.start, p.end)}</mark>`);
    at = p.end;
  }
  parts.push(text.slice(at));
  return parts;
}

function Why({ explain }) {
  const terms = (explain.keyword?.terms ?? []).filter((t) => t.contribution >= 0.0005).sort((a, b) => b.contribution - a.contribution);
  const words = (explain.dense?.query_terms ?? []).slice(0, 5);
  const h = explain.hybrid;
  if (!terms.length && !words.length && !h) return null;
  return html`<div class="why">
    ${h ? html`<div>fused ${fmt(h.alpha, 2)} × dense ${fmt(h.dense_normalised)} + ${fmt(1 - h.alpha, 2)} × keyword ${fmt(h.keyword_normalised)}</div>` : null}
    ${terms.length ? html`<div>BM25: ${terms.map((t) => html`<span class="chip" title=${`tf ${t.tf}, df ${t.df}`}>${t.term} ${fmt(t.contribution, 2)}</span>`)}</div>` : null}
    ${words.length ? html`<div>query words: ${words.map((t) => html`<span class="chip">${t.term} ${t.effect >= 0 ? '+' : ''}${fmt(t.effect, 3)}</span>`)}</div>` : null}
  </div>`;
}

function Hits({ result, request }) {
  return html`<p class="muted" data-took=${result.took_ms}>${result.results.length} hits · model ${result.model} · generation ${result.generation} · ${fmt(result.took_ms, 1)} ms</p>
    <ol class="hits" aria-label="Search results">
      ${result.results.map(
        (hit, i) => html`<li data-id=${hit.id}>
          <div class="hit-head">
            <span class="rank">${i + 1}</span> <strong class="hit-id">${hit.id}</strong> <span class="muted">score ${fmt(hit.score, 4)}</span>
            ${hit.explain ? html`<span class="ranks">
              dense rank ${hit.explain.dense ? hit.explain.dense.rank : '–'} · keyword rank ${hit.explain.keyword ? hit.explain.keyword.rank : '–'}
            </span>` : null}
          </div>
          ${hit.title ? html`<div class="hit-title">${hit.title}</div>` : null}
          ${hit.text ? html`<p class="hit-text">${highlighted(hit.text, hit.explain?.dense?.passages)}</p>` : null}
          ${hit.explain ? html`<${Why} explain=${hit.explain} />` : null}
          <div class="muted">metadata <${Json} value=${hit.metadata} /></div>
        </li>`,
      )}
    </ol>
    <details><summary>Request sent</summary><pre class="json">${JSON.stringify(request, null, 2)}</pre></details>`;
}

/* ---------- documents ---------- */

const PAGE_SIZE = 20;

function Documents({ base, role, onChange }) {
  // The cursor stack: ids the pages start after (null: the first page).
  const [cursors, setCursors] = useState([null]);
  const after = cursors[cursors.length - 1];
  const page = usePoll(() => get(`${base}/documents?limit=${PAGE_SIZE}${after ? `&after=${enc(after)}` : ''}`), 0, [base, after]);
  const [open, setOpen] = useState(undefined);
  const [error, setError] = useState(undefined);
  const [confirm, dialog] = useConfirm();
  const show = async (id) => {
    try {
      setOpen(await get(`${base}/documents/${enc(id)}`));
      setError(undefined);
    } catch (err) {
      setError(err);
    }
  };
  const remove = async (id) => {
    if (!(await confirm(`Delete document ${id}? It leaves every index generation and cannot be undone.`, 'Delete'))) return;
    try {
      await del(`${base}/documents/${enc(id)}`);
      if (open?.id === id) setOpen(undefined);
      setError(undefined);
      page.reload();
      onChange?.();
    } catch (err) {
      setError(err);
    }
  };
  const data = page.data;
  return html`${dialog}<${ErrorBox} error=${page.error ?? error} />
    ${data
      ? html`<p class="muted">${data.count} documents · page ${cursors.length}</p>
        <${Table} caption="Documents">
          <thead><tr><th scope="col">Id</th><th scope="col">Title</th><th scope="col">Updated</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            ${data.items.map(
              (d) => html`<tr data-document=${d.id}>
                <th scope="row"><code>${d.id}</code></th>
                <td>${d.title ?? html`<span class="muted">${d.text.slice(0, 80)}</span>`}</td>
                <td>${when(d.updated_at)}</td>
                <td class="actions">
                  <button type="button" onClick=${() => show(d.id)}>Open</button>
                  ${can(role, 'write') ? html`<button type="button" class="danger" onClick=${() => remove(d.id)}>Delete</button>` : null}
                </td>
              </tr>`,
            )}
          </tbody>
        <//>
        <div class="row">
          <button type="button" disabled=${cursors.length === 1} onClick=${() => setCursors(cursors.slice(0, -1))}>Previous page</button>
          <button type="button" disabled=${!data.next} onClick=${() => setCursors([...cursors, data.next])}>Next page</button>
        </div>`
      : html`<p class="loading">Loading…</p>`}
    ${open
      ? html`<article class="card document" aria-labelledby="doc-h">
          <h2 id="doc-h">${open.title ?? open.id}</h2>
          <p class="muted">id <code>${open.id}</code> · updated ${when(open.updated_at)}</p>
          <p class="doc-text">${open.text}</p>
          <div>metadata <${Json} value=${open.metadata} /></div>
          <button type="button" onClick=${() => setOpen(undefined)}>Close</button>
        </article>`
      : null}`;
}

/* ---------- drift ---------- */

/** Per kind and metric: the windows of the history, oldest first. */
function driftSeries(drift) {
  const byKind = new Map();
  const rows = [...drift.history].sort((a, b) => a.created_at.localeCompare(b.created_at));
  for (const row of rows) {
    const kind = row.kind;
    if (!byKind.has(kind)) byKind.set(kind, { windows: [], metrics: new Set() });
    const entry = byKind.get(kind);
    const index = row.window && typeof row.window.index === 'number' ? row.window.index : entry.windows.length + 1;
    entry.windows.push({ index, state: row.state, at: row.created_at, metrics: row.metrics ?? {} });
    for (const name of Object.keys(row.metrics ?? {})) entry.metrics.add(name);
  }
  const thresholds = new Map(drift.metrics.map((m) => [`${m.kind}:${m.name}`, m.threshold]));
  return [...byKind.entries()].map(([kind, { windows, metrics }]) => ({
    kind,
    charts: [...metrics].map((name) => ({
      name,
      threshold: thresholds.get(`${kind}:${name}`) ?? null,
      windows: windows.map((w) => ({ index: w.index, state: w.state, at: w.at, value: typeof w.metrics[name] === 'number' ? w.metrics[name] : null })),
    })),
  }));
}

function Drift({ base }) {
  const { data, error } = usePoll(() => get(`${base}/drift?history=1000`), 5000, [base]);
  const series = useMemo(() => (data ? driftSeries(data) : []), [data]);
  if (!data) return html`<${ErrorBox} error=${error} /><p class="loading">Loading…</p>`;
  const policy = data.policy;
  return html`<${ErrorBox} error=${error} />
    <section class="card" aria-labelledby="drift-state-h">
      <h2 id="drift-state-h">State <${DriftBadge} state=${data.state} /></h2>
      <dl class="facts">
        ${Object.entries(data.kinds).map(([kind, k]) => html`<dt>${kind}</dt><dd><${DriftBadge} state=${k.state} /> ${k.windows ?? 0} windows${k.reference ? '' : ' · no reference yet'}</dd>`)}
        <dt>Policy</dt><dd data-field="policy">${policy.mode}: <strong>${policy.decision}</strong> — ${policy.reason}</dd>
        <dt>Last action</dt><dd>${policy.last_action ? html`${policy.last_action.decision} — ${policy.last_action.reason} (${when(policy.last_action.at)})` : html`<span class="muted">none</span>`}</dd>
      </dl>
    </section>
    ${series.length === 0 ? html`<p class="muted">No drift windows recorded yet: query windows fill as searches arrive, document windows as documents are written.</p>` : null}
    ${series.map(
      (s) => html`<section class="drift-kind" data-kind=${s.kind} aria-labelledby=${`drift-${s.kind}-h`}>
        <h2 id=${`drift-${s.kind}-h`}>${s.kind === 'query' || s.kind === 'queries' ? 'Queries' : 'Documents'}</h2>
        <div class="charts">${s.charts.map((chart) => html`<${MetricChart} kind=${s.kind} name=${chart.name} windows=${chart.windows} threshold=${chart.threshold} />`)}</div>
      </section>`,
    )}`;
}

/* ---------- jobs ---------- */

function CollectionJobs({ name, base, collection, role }) {
  const jobs = useJobs(name);
  const [model, setModel] = useState('');
  const [kind, setKind] = useState('adapter');
  const [activate, setActivate] = useState(false);
  const [error, setError] = useState(undefined);
  const start = async (path, body) => {
    try {
      await post(`${base}/${path}`, body);
      setError(undefined);
      jobs.reload();
    } catch (err) {
      setError(err);
    }
  };
  return html`${can(role, 'admin')
      ? html`<div class="forms">
          <form class="inline" aria-label="Start a re-embedding" onSubmit=${(e) => (e.preventDefault(), start('reembed', model.trim() ? { model: model.trim() } : {}))}>
            <label for="reembed-model">Re-embed with model</label>
            <input id="reembed-model" name="model" placeholder=${collection.target} value=${model} onInput=${(e) => setModel(e.currentTarget.value)} />
            <button type="submit">Start re-embedding</button>
          </form>
          <form class="inline" aria-label="Start training" onSubmit=${(e) => (e.preventDefault(), start('train', { kind, activate }))}>
            <label for="train-kind">Train a model</label>
            <select id="train-kind" name="kind" value=${kind} onChange=${(e) => setKind(e.currentTarget.value)}><option value="adapter">adapter</option><option value="static">static</option></select>
            <input id="train-activate" type="checkbox" checked=${activate} onChange=${(e) => setActivate(e.currentTarget.checked)} />
            <label for="train-activate">activate if the gate passes</label>
            <button type="submit">Start training</button>
          </form>
        </div>`
      : null}
    <${ErrorBox} error=${error ?? jobs.error} />
    ${jobs.data ? html`<${JobsTable} jobs=${jobs.data} role=${role} showCollection=${false} onChange=${jobs.reload} />` : html`<p class="loading">Loading…</p>`}`;
}

/* ---------- generations ---------- */

function Generations({ base, role, onChange }) {
  const { data, error, reload } = usePoll(() => get(`${base}/generations`), 5000, [base]);
  const [problem, setProblem] = useState(undefined);
  const [confirm, dialog] = useConfirm();
  const rollback = async () => {
    if (!(await confirm(`Make generation ${data.rollback_to} live again? Searches switch to it at once.`, 'Roll back'))) return;
    try {
      await post(`${base}/rollback`);
      setProblem(undefined);
      reload();
      onChange?.();
    } catch (err) {
      setProblem(err);
    }
  };
  if (!data) return html`<${ErrorBox} error=${error} /><p class="loading">Loading…</p>`;
  return html`${dialog}<${ErrorBox} error=${problem ?? error} />
    ${can(role, 'admin') && data.rollback_to != null ? html`<p><button type="button" class="danger" onClick=${rollback}>Roll back to generation ${data.rollback_to}</button></p>` : null}
    <${Table} caption="Index generations">
      <thead><tr><th scope="col">Generation</th><th scope="col">State</th><th scope="col">Model</th><th scope="col">Backend</th><th scope="col">Created</th><th scope="col">Retired</th><th scope="col">Lineage</th></tr></thead>
      <tbody>
        ${data.generations.map(
          (g) => html`<tr data-generation=${g.id} data-state=${g.state}>
            <th scope="row">${g.id}</th>
            <td><${StateBadge} state=${g.state} /></td>
            <td>${g.model}</td>
            <td>${g.backend}</td>
            <td>${when(g.created_at)}</td>
            <td>${when(g.retired_at)}</td>
            <td><${Lineage} lineage=${g.lineage} /></td>
          </tr>`,
        )}
      </tbody>
    <//>`;
}

/* ---------- evaluation ---------- */

function EvalFigures({ evaluation }) {
  const compare = evaluation.compare;
  const modes = Object.keys(evaluation.modes);
  const metricNames = [...new Set(modes.flatMap((m) => Object.keys(evaluation.modes[m])))];
  return html`<${Table} caption=${`Evaluation on ${evaluation.dataset} (${evaluation.queries} queries, ${when(evaluation.evaluated_at)})`}>
    <thead><tr><th scope="col">Mode</th><th scope="col">Metric</th><th scope="col">Generation ${evaluation.generation} (${evaluation.model})</th>${compare ? html`<th scope="col">Generation ${compare.generation} (${compare.model})</th><th scope="col">Difference</th>` : null}</tr></thead>
    <tbody>
      ${modes.flatMap((mode) =>
        metricNames.map((metric) => {
          const value = evaluation.modes[mode]?.[metric];
          const other = compare?.result.modes[mode]?.[metric];
          return html`<tr data-mode=${mode} data-metric=${metric}>
            <th scope="row">${mode}</th><td>${metric}</td><td class="num">${fmt(value, 4)}</td>
            ${compare ? html`<td class="num">${fmt(other, 4)}</td><td class="num">${typeof value === 'number' && typeof other === 'number' ? fmt(value - other, 4) : '–'}</td>` : null}
          </tr>`;
        }),
      )}
    </tbody>
  <//>`;
}

function Evaluation({ base, role }) {
  const last = usePoll(() => get(`${base}/eval`), 0, [base]);
  const gens = usePoll(() => get(`${base}/generations`), 0, [base]);
  const [dataset, setDataset] = useState('');
  const [compare, setCompare] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(undefined);
  const [shown, setShown] = useState(undefined);
  useEffect(() => {
    if (last.data?.evaluation && !shown) setShown(last.data.evaluation);
  }, [last.data]);
  const run = async (event) => {
    event.preventDefault();
    setBusy(true);
    try {
      const body = { dataset: dataset.trim() };
      if (compare) body.compare = Number(compare);
      setShown({ ...(await post(`${base}/eval`, body)), evaluated_at: new Date().toISOString() });
      setError(undefined);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const others = (gens.data?.generations ?? []).filter((g) => g.state !== 'live');
  return html`${can(role, 'admin')
      ? html`<form class="inline" aria-label="Run an evaluation" onSubmit=${run}>
          <label for="eval-dataset">BEIR folder on the server</label>
          <input id="eval-dataset" name="dataset" required placeholder="/data/beir/cranfield" value=${dataset} onInput=${(e) => setDataset(e.currentTarget.value)} />
          <label for="eval-compare">Compare with</label>
          <select id="eval-compare" name="compare" value=${compare} onChange=${(e) => setCompare(e.currentTarget.value)}>
            <option value="">no comparison</option>
            ${others.map((g) => html`<option value=${g.id}>generation ${g.id} (${g.model}, ${g.state})</option>`)}
          </select>
          <button type="submit" disabled=${busy || dataset.trim() === ''}>${busy ? 'Evaluating…' : 'Evaluate'}</button>
        </form>`
      : null}
    <${ErrorBox} error=${error ?? last.error} />
    ${shown ? html`<${EvalFigures} evaluation=${shown} />` : last.data ? html`<p class="muted">No evaluation yet${can(role, 'admin') ? ': run one above.' : '.'}</p>` : html`<p class="loading">Loading…</p>`}`;
}
