// Jobs: re-embedding and training jobs with live progress (polled each second while one runs,
// every 5 s otherwise), and cancel for admin keys.
import { useState } from 'preact/hooks';
import { can, enc, get, post } from './api.js';
import { ErrorBox, fmt, html, Progress, StateBadge, Table, usePoll, useConfirm, when } from './ui.js';

const ACTIVE_MS = 1000;
const IDLE_MS = 5000;
const isActive = (j) => j.state === 'running' || j.state === 'queued';

/** Jobs (all, or one collection's), polled faster while any of them is active. */
export function useJobs(collection) {
  const [fast, setFast] = useState(true);
  const poll = usePoll(
    async () => {
      const { jobs } = await get('/v1/jobs');
      const mine = collection ? jobs.filter((j) => j.collection === collection) : jobs;
      setFast(mine.some(isActive));
      return mine;
    },
    fast ? ACTIVE_MS : IDLE_MS,
    [collection],
  );
  return poll;
}

function Outcome({ job }) {
  if (job.error) return html`<span class="error-text">${job.error}</span>`;
  if (job.gate) {
    return html`<span data-gate=${job.gate.passed ? 'passed' : 'refused'}>gate ${job.gate.passed ? 'passed' : 'refused'}: ${job.gate.reason}</span>${job.model ? html` <span class="muted">→ ${job.model}</span>` : null}`;
  }
  return html`<span class="muted">${job.reason}</span>`;
}

export function JobsTable({ jobs, role, showCollection, onChange }) {
  const [confirm, dialog] = useConfirm();
  const [error, setError] = useState(undefined);
  const cancel = async (job) => {
    if (!(await confirm(`Cancel job ${job.id} (${job.type ?? 'reembed'} of ${job.collection})? Nothing it built will be used.`, 'Cancel job'))) return;
    try {
      await post(`/v1/jobs/${enc(job.id)}/cancel`);
      setError(undefined);
      onChange?.();
    } catch (err) {
      setError(err);
    }
  };
  if (jobs.length === 0) return html`<p class="muted">No jobs.</p>`;
  return html`<${ErrorBox} error=${error} />${dialog}
    <${Table} caption="Jobs">
      <thead><tr><th scope="col">Job</th>${showCollection ? html`<th scope="col">Collection</th>` : null}<th scope="col">Type</th><th scope="col">State</th><th scope="col">Model</th><th scope="col">Progress</th><th scope="col">Outcome</th><th scope="col">Started</th>${can(role, 'admin') ? html`<th scope="col"><span class="sr-only">Actions</span></th>` : null}</tr></thead>
      <tbody>
        ${jobs.map(
          (j) => html`<tr data-job=${j.id} data-state=${j.state}>
            <th scope="row"><code>${j.id.slice(0, 8)}</code></th>
            ${showCollection ? html`<td><a href=${`#/collections/${enc(j.collection)}?tab=jobs`}>${j.collection}</a></td>` : null}
            <td>${j.type ?? 'reembed'}${j.method ? html` <span class="muted">(${j.method})</span>` : null}</td>
            <td><${StateBadge} state=${j.state} /></td>
            <td>${j.model}</td>
            <td><${Progress} job=${j} /></td>
            <td><${Outcome} job=${j} /></td>
            <td>${when(j.started_at ?? j.created_at)}</td>
            ${can(role, 'admin') ? html`<td>${isActive(j) ? html`<button type="button" class="danger" onClick=${() => cancel(j)}>Cancel</button>` : null}</td>` : null}
          </tr>`,
        )}
      </tbody>
    <//>`;
}

export function JobsPage({ role }) {
  const { data, error, reload } = useJobs(undefined);
  const active = (data ?? []).filter(isActive).length;
  return html`<h1>Jobs</h1>
    <p class="muted">${data ? `${data.length} jobs, ${active} active` : 'Loading…'} · docs/s and ETA as the server reports them (${fmt(ACTIVE_MS / 1000, 0)} s refresh while a job runs)</p>
    <${ErrorBox} error=${error} />
    ${data ? html`<${JobsTable} jobs=${data} role=${role} showCollection=${true} onChange=${reload} />` : null}`;
}
