/**
 * The web console at /ui: a page shell, the console's own modules (./public) and the few library
 * files it imports, copied from their npm packages by `npm ci` (node_modules) and served from
 * here. Nothing is fetched from another host: the Content-Security-Policy allows this origin only.
 *
 * The shell carries no data. Every figure the console shows comes from the /v1 API, called by the
 * browser with the key the user typed (Authorization: Bearer), so the console has exactly the
 * rights of that key and the API's own checks and errors.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { extname, join } from 'node:path';
import { Hono, type Context } from 'hono';
import type { ApiEnv } from '../env.ts';

const PUBLIC_DIR = join(import.meta.dirname, 'public');

/** Library files by the name the console imports them under (the page's import map) or links them: ESM specifiers, resolved as Node resolves an import (the packages' `exports`). */
const VENDOR: Readonly<Record<string, string>> = {
  'preact.js': 'preact',
  'preact-hooks.js': 'preact/hooks',
  'htm.js': 'htm',
  'uplot.js': 'uplot/dist/uPlot.esm.js',
  'uplot.css': 'uplot/dist/uPlot.min.css',
};

const IMPORT_MAP = JSON.stringify({
  imports: {
    preact: '/ui/vendor/preact.js',
    'preact/hooks': '/ui/vendor/preact-hooks.js',
    htm: '/ui/vendor/htm.js',
    uplot: '/ui/vendor/uplot.js',
  },
});

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
  readonly body: string;
  readonly type: string;
}

/** `name` is the file's name under /ui (its type follows from it; a package's .mjs is served as .js). */
function asset(path: string, name: string): Asset {
  const type = TYPES[extname(name)];
  if (!type) throw new Error(`console file ${name}: no content type for its extension`);
  return { body: readFileSync(path, 'utf8'), type };
}

/** Read once at start: the files are part of the installed release and do not change under it. */
function loadAssets(): { shell: string; csp: string; files: Map<string, Asset> } {
  const files = new Map<string, Asset>();
  for (const name of readdirSync(PUBLIC_DIR)) if (name !== 'index.html') files.set(`/ui/app/${name}`, asset(join(PUBLIC_DIR, name), name));
  for (const [name, module] of Object.entries(VENDOR)) files.set(`/ui/vendor/${name}`, asset(fileURLToPath(import.meta.resolve(module)), name));
  // The import map is the page's one inline script; its hash is the only inline code allowed.
  const mapHash = createHash('sha256').update(IMPORT_MAP).digest('base64');
  const shell = readFileSync(join(PUBLIC_DIR, 'index.html'), 'utf8').replace('<!--import-map-->', `<script type="importmap">${IMPORT_MAP}</script>`);
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'sha256-${mapHash}'`,
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { shell, csp, files };
}

export function consoleRoutes(): Hono<ApiEnv> {
  const { shell, csp, files } = loadAssets();
  const app = new Hono<ApiEnv>();
  const page = (c: Context<ApiEnv>) =>
    c.body(shell, 200, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': csp,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
  app.get('/ui', (c) => page(c));
  app.get('/ui/', (c) => page(c));
  app.get('/ui/*', (c) => {
    const file = files.get(c.req.path);
    if (!file) return c.json({ error: { code: 'not_found', message: `no console file ${c.req.path}` } }, 404);
    return c.body(file.body, 200, { 'content-type': file.type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  });
  return app;
}
