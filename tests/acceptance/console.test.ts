/**
 * The web console (/ui) driven in headless Chromium (Debian's `chromium`, via playwright-core;
 * nothing is downloaded) against a real server with Cranfield indexed and API keys configured:
 *
 * - sign-in: a wrong key gets the sign-in form again with the API's message; keyboard only;
 * - the overview lists the collection with its document count;
 * - a hybrid search typed into the playground shows the ids the API returns for the same request;
 * - after CISI queries, the query drift charts have one point per recorded window;
 * - a re-embedding started from the console shows its progress advancing and ends `succeeded`;
 * - a read key sees no admin (or write) buttons; an admin deletes a document (after a confirmation)
 *   and rolls back a generation from the console;
 * - every page at 1280x800 and 390x844: no page-wide horizontal scroll, every form field labelled,
 *   a screenshot in screenshots/console/ (git-ignored; the README shows one committed copy);
 * - throughout: no console errors, no request to any host but the server.
 *
 * Skips with a message where Chromium or the datasets are absent; `.ci/run` installs Chromium.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetDir, readQueries } from '../../scripts/lib/beir.ts';
import type { RunningServer } from '../../src/api/server.ts';
import { datasetDataDir, type TempDir } from '../helpers/datasets.ts';
import { api, REPO_ROOT, startTestServer } from '../helpers/server.ts';

const CHROMIUM = [process.env.SEXTANT_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => !!p && existsSync(p));
const cranfield = datasetDir('cranfield');
const cisi = datasetDir('cisi');
if (!CHROMIUM) console.log('console browser tests skipped: no Chromium installed (apt-get install chromium, or set SEXTANT_CHROMIUM)');
if (!cranfield || !cisi) console.log('console browser tests skipped: ../shared/datasets/cranfield and cisi are needed');

const ADMIN_KEY = 'console-admin-key';
const READ_KEY = 'console-read-key';
const NAME = 'cranfield';
const SHOTS = join(REPO_ROOT, 'screenshots', 'console');
const SIZES = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;

describe.skipIf(!CHROMIUM || !cranfield || !cisi)('web console in headless Chromium', () => {
  let data: TempDir;
  let server: RunningServer;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const consoleErrors: string[] = [];
  const foreignRequests: string[] = [];
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };

  const adminApi = <T>(method: string, path: string, body?: unknown) => api<T>(server.url, method, path, body, admin);

  async function newPage(size: keyof typeof SIZES = 'desktop'): Promise<Page> {
    const context = await browser.newContext({ viewport: SIZES[size] });
    contexts.push(context);
    const origin = new URL(server.url).origin;
    context.on('request', (r) => {
      if (new URL(r.url()).origin !== origin) foreignRequests.push(r.url());
    });
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: uncaught ${e.message}`));
    return page;
  }

  async function signIn(page: Page, key: string): Promise<void> {
    await page.goto(`${server.url}/ui`);
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('header.top .who').waitFor();
  }

  beforeAll(async () => {
    data = (await datasetDataDir('cranfield', 'sextant-console-'))!;
    server = await startTestServer({ dataDir: data.path, apiKeys: `${ADMIN_KEY}:admin,${READ_KEY}:read` });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    mkdirSync(SHOTS, { recursive: true });
  });

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await server?.close();
    await data?.remove();
  });

  it('asks for a key, and asks again after a wrong one (keyboard only)', async () => {
    const page = await newPage();
    await page.goto(`${server.url}/ui`);
    const field = page.getByLabel('API key');
    await field.waitFor();
    await page.keyboard.press('Tab'); // the first focusable element of the sign-in page is the key field
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('api-key');
    await page.keyboard.type('not-a-valid-key');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('invalid API key');
    await expect(field.isVisible()).resolves.toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem('sextant.apiKey'))).toBeNull();
    await page.screenshot({ path: join(SHOTS, 'signin-desktop.png') });
  });

  it('lists the collection on the overview, with its document count', async () => {
    const page = await newPage();
    await signIn(page, ADMIN_KEY);
    const row = page.locator(`tr[data-collection="${NAME}"]`);
    await row.waitFor();
    const { body } = await adminApi<{ document_count: number }>('GET', `/v1/collections/${NAME}`);
    expect(await row.locator('[data-field="document_count"]').textContent()).toBe(String(body.document_count));
    expect(await page.locator('[data-ready]').getAttribute('data-ready')).toBe('ready');
    // The key is kept for the tab only and never put in the address.
    expect(await page.evaluate(() => sessionStorage.getItem('sextant.apiKey'))).toBe(ADMIN_KEY);
    expect(page.url()).not.toContain(ADMIN_KEY);
  });

  it('shows the same ids as the API for a hybrid search typed into the playground', async () => {
    const page = await newPage();
    await signIn(page, ADMIN_KEY);
    await page.goto(`${server.url}/ui#/collections/${NAME}?tab=search`);
    const query = readQueries(cranfield!)[4]!.text;
    await page.getByLabel('Query').fill(query);
    await page.getByLabel('Mode').selectOption('hybrid');
    await page.getByLabel('Filter (JSON, optional)').fill('{"year": ');
    await expect(page.getByRole('button', { name: 'Search' }).isDisabled()).resolves.toBe(true); // invalid JSON: not sent
    await page.getByLabel('Filter (JSON, optional)').fill('');
    const sent = page.waitForRequest((r) => r.url().endsWith(`/v1/collections/${NAME}/search`) && r.method() === 'POST');
    await page.getByRole('button', { name: 'Search' }).click();
    const request = (await sent).postDataJSON() as Record<string, unknown>;
    expect(request).toMatchObject({ query, mode: 'hybrid', k: 10 });
    await page.locator('ol.hits li').first().waitFor();
    const shown = await page.locator('ol.hits li').evaluateAll((items) => items.map((li) => li.getAttribute('data-id')));
    const { body } = await adminApi<{ results: { id: string }[] }>('POST', `/v1/collections/${NAME}/search`, request);
    expect(shown).toEqual(body.results.map((r) => r.id));
    expect(shown).toHaveLength(10);
    // The ranks that produced each hit are shown.
    expect(await page.locator('ol.hits li .ranks').first().textContent()).toMatch(/dense rank \d+ · keyword rank (\d+|–)/);
    // The passages that carry the dense score are highlighted, where the explanation found any.
    const { body: explained } = await adminApi<{ results: { explain: { dense: { passages?: { score: number }[] } | null } }[] }>('POST', `/v1/collections/${NAME}/search`, request);
    const marked = explained.results.filter((r) => (r.explain.dense?.passages ?? []).some((p) => p.score > 0)).length;
    expect(marked).toBeGreaterThan(0);
    expect(await page.locator('ol.hits li mark').count()).toBeGreaterThanOrEqual(marked);
  });

  it('draws one point per recorded window on the query drift charts after CISI queries', async () => {
    const cranQueries = readQueries(cranfield!).map((q) => q.text);
    const ref = await adminApi('POST', `/v1/collections/${NAME}/drift/reference`, { queries: cranQueries.slice(0, 100) });
    expect(ref.status).toBe(200);
    const cisiQueries = readQueries(cisi!).map((q) => q.text).slice(0, 75); // 3 windows of 25
    for (const query of cisiQueries) expect((await adminApi('POST', `/v1/collections/${NAME}/search`, { query, k: 5 })).status).toBe(200);
    await server.lifecycle.drift.flush();
    const { body } = await adminApi<{ history: { kind: string; state: string; window: unknown }[] }>('GET', `/v1/collections/${NAME}/drift?history=1000`);
    const windows = body.history.filter((h) => h.kind === 'queries');
    console.log(`query windows recorded: ${JSON.stringify(windows.map((h) => [h.window, h.state]))}`);
    const queryWindows = windows.length;
    expect(queryWindows).toBeGreaterThanOrEqual(3);

    const page = await newPage();
    await signIn(page, ADMIN_KEY);
    await page.goto(`${server.url}/ui#/collections/${NAME}?tab=drift`);
    const charts = page.locator('figure.chart[data-kind="queries"]');
    await charts.first().waitFor();
    expect(await charts.count()).toBeGreaterThan(0);
    for (const points of await charts.evaluateAll((figs) => figs.map((f) => Number(f.getAttribute('data-points'))))) expect(points).toBe(queryWindows);
    // The chart is drawn (uPlot's canvas) and its values are in the table beside it.
    expect(await charts.first().locator('canvas').count()).toBeGreaterThan(0);
    expect(await charts.first().locator('details tbody tr').count()).toBe(queryWindows); // (uPlot's legend is a table too)
    // Document windows, where the collection has any, are charted apart from the query windows.
    const documentWindows = body.history.filter((h) => h.kind === 'documents').length;
    expect(await page.locator('figure.chart[data-kind="documents"]').count() > 0).toBe(documentWindows > 0);
    expect(await page.locator('[data-field="policy"]').textContent()).toMatch(/notify|auto/);
  });

  it('starts a re-embedding whose progress advances and which ends succeeded', async () => {
    const page = await newPage();
    await signIn(page, ADMIN_KEY);
    await page.goto(`${server.url}/ui#/collections/${NAME}?tab=jobs`);
    await page.getByLabel('Re-embed with model').fill('use-lite@1-int8');
    await page.getByRole('button', { name: 'Start re-embedding' }).click();
    const row = page.locator('tr[data-job]').first();
    await row.waitFor();
    const seen = new Set<string>();
    const deadline = Date.now() + 240_000;
    let state = '';
    while (Date.now() < deadline) {
      state = (await row.getAttribute('data-state')) ?? '';
      seen.add(`${state}:${await row.locator('.progress-text').getAttribute('data-done')}`);
      if (state === 'succeeded' || state === 'failed' || state === 'cancelled') break;
      await page.waitForTimeout(200);
    }
    expect(state).toBe('succeeded');
    const running = [...seen].filter((s) => s.startsWith('running:')).map((s) => Number(s.split(':')[1]));
    console.log(`re-embedding progress seen in the console: ${[...seen].join(', ')}`);
    expect(new Set(running).size).toBeGreaterThanOrEqual(2); // at least two different done counts while running
    expect(await row.locator('.progress-text').textContent()).toMatch(/^(\d+)\/\1$/);
    // The new generation is live; the previous one is offered for rollback.
    await page.goto(`${server.url}/ui#/collections/${NAME}?tab=generations`);
    await page.locator('tr[data-state="live"]').waitFor();
    expect(await page.locator('tr[data-state="live"] td').nth(1).textContent()).toBe('use-lite@1-int8');
    await expect(page.getByRole('button', { name: /Roll back to generation/ }).isVisible()).resolves.toBe(true);
  });

  it('shows a read key no admin or write buttons', async () => {
    const page = await newPage();
    await signIn(page, READ_KEY);
    expect(await page.locator('header.top .who').getAttribute('data-role')).toBe('read');
    for (const tab of ['jobs', 'documents', 'generations', 'evaluation']) {
      await page.goto(`${server.url}/ui#/collections/${NAME}?tab=${tab}`);
      await page.locator('.tab-panel table, .tab-panel p').first().waitFor();
      await page.waitForTimeout(300);
      expect(await page.getByRole('button', { name: /Start re-embedding|Start training|Delete|Roll back|Cancel|Evaluate/ }).count()).toBe(0);
    }
    // The same pages show them to the admin key (so the check above can fail).
    const adminPage = await newPage();
    await signIn(adminPage, ADMIN_KEY);
    await adminPage.goto(`${server.url}/ui#/collections/${NAME}?tab=documents`);
    await adminPage.getByRole('button', { name: 'Delete' }).first().waitFor();
    await adminPage.goto(`${server.url}/ui#/collections/${NAME}?tab=generations`);
    await adminPage.getByRole('button', { name: /Roll back/ }).waitFor();
  });

  it('renders every page at 1280x800 and 390 px wide: labelled fields, no sideways scroll, screenshots', async () => {
    // Compared with the generation the re-embedding above replaced (when this test runs alone, none).
    const { body: gens } = await adminApi<{ rollback_to: number | null }>('GET', `/v1/collections/${NAME}/generations`);
    const evaluation = await adminApi('POST', `/v1/collections/${NAME}/eval`, { dataset: cranfield, ...(gens.rollback_to !== null ? { compare: gens.rollback_to } : {}) });
    expect(evaluation.status, JSON.stringify(evaluation.body)).toBe(200);
    const pages: [string, string][] = [
      ['overview', '#/'],
      ['search', `#/collections/${NAME}?tab=search`],
      ['documents', `#/collections/${NAME}?tab=documents`],
      ['drift', `#/collections/${NAME}?tab=drift`],
      ['jobs-collection', `#/collections/${NAME}?tab=jobs`],
      ['generations', `#/collections/${NAME}?tab=generations`],
      ['evaluation', `#/collections/${NAME}?tab=evaluation`],
      ['models', '#/models'],
      ['jobs', '#/jobs'],
    ];
    for (const size of Object.keys(SIZES) as (keyof typeof SIZES)[]) {
      const page = await newPage(size);
      await signIn(page, ADMIN_KEY);
      for (const [name, hash] of pages) {
        await page.goto(`${server.url}/ui${hash}`);
        await page.locator('main h1').waitFor();
        await expect.poll(() => page.locator('main .loading').count(), { timeout: 30_000 }).toBe(0);
        if (name === 'search') {
          await page.getByLabel('Query').fill('flow over a flat plate');
          await page.getByRole('button', { name: 'Search' }).click();
          await page.locator('ol.hits li').first().waitFor();
        }
        if (name === 'evaluation') await page.locator('tr[data-mode="hybrid"]').first().waitFor();
        if (name === 'drift' && (await page.locator('figure.chart').count()) > 0) await page.locator('figure.chart canvas').first().waitFor();
        await page.waitForTimeout(200);
        const unlabelled = await page.evaluate(() =>
          [...document.querySelectorAll('input, select, textarea')]
            .filter((el) => (el as HTMLInputElement).labels?.length === 0 && !el.getAttribute('aria-label'))
            .map((el) => el.outerHTML),
        );
        expect(unlabelled, `${name}: form fields without a label`).toEqual([]);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        // On failure, name the outermost elements that stick out of the viewport.
        const wide = overflow > 0
          ? await page.evaluate(() =>
              [...document.querySelectorAll('body *')]
                .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && !el.parentElement?.closest('.table-wrap'))
                .slice(0, 5)
                .map((el) => `${el.tagName.toLowerCase()}.${el.className} (${Math.round(el.getBoundingClientRect().width)} px)`),
            )
          : [];
        expect(overflow, `${name} at ${size}: the page scrolls sideways by ${overflow} px: ${wide.join(', ')}`).toBeLessThanOrEqual(0);
        await page.screenshot({ path: join(SHOTS, `${name}-${size}.png`), fullPage: size === 'phone' });
      }
    }
  });

  it('deletes a document only once confirmed, and rolls back from the generations tab', async () => {
    const page = await newPage();
    await signIn(page, ADMIN_KEY);
    await page.goto(`${server.url}/ui#/collections/${NAME}?tab=documents`);
    const first = page.locator('tr[data-document]').first();
    await first.waitFor();
    const id = (await first.getAttribute('data-document'))!;
    const before = (await adminApi<{ document_count: number }>('GET', `/v1/collections/${NAME}`)).body.document_count;
    await first.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click();
    expect((await adminApi('GET', `/v1/collections/${NAME}/documents/${id}`)).status).toBe(200);
    await first.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.locator(`tr[data-document="${id}"]`).waitFor({ state: 'detached' });
    expect((await adminApi('GET', `/v1/collections/${NAME}/documents/${id}`)).status).toBe(404);
    expect((await adminApi<{ document_count: number }>('GET', `/v1/collections/${NAME}`)).body.document_count).toBe(before - 1);

    const { body: gens } = await adminApi<{ live: number; rollback_to: number | null }>('GET', `/v1/collections/${NAME}/generations`);
    expect(gens.rollback_to).not.toBeNull();
    await page.goto(`${server.url}/ui#/collections/${NAME}?tab=generations`);
    await page.getByRole('button', { name: `Roll back to generation ${gens.rollback_to}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Roll back' }).click();
    await page.locator(`tr[data-generation="${gens.rollback_to}"][data-state="live"]`).waitFor();
    expect((await adminApi<{ generation: number }>('GET', `/v1/collections/${NAME}`)).body.generation).toBe(gens.rollback_to);
  });

  it('logged no browser console errors and made no request to another host', () => {
    expect(consoleErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
  });
});
