/**
 * A bare Hono endpoint, the HTTP stack's own ceiling for bench:search: `tsx scripts/lib/bare-hono.ts`.
 * A minimal Hono app on @hono/node-server (the server's stack, the same serve() call and keep-alive
 * settings), listening on 127.0.0.1 on a free port, that answers any POST by reading and parsing
 * its JSON body (c.req.text() then JSON.parse, as src/api/body.ts does) and replying with a small
 * fixed JSON. Prints `{"url":"http://127.0.0.1:<port>"}` on stdout once listening; exits on SIGTERM.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';

const KEEP_ALIVE_MS = 65_000; // as src/api/server.ts sets it
const ANSWER = { results: [] as unknown[], took_ms: 0 };

const app = new Hono();
app.post('*', async (c) => {
  JSON.parse(await c.req.text()); // as src/api/body.ts reads a body
  return c.json(ANSWER);
});

const server = await new Promise<ServerType>((resolve, reject) => {
  const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  s.once('error', reject);
});
if ('keepAliveTimeout' in server) {
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = KEEP_ALIVE_MS + 1000;
}
const { port } = server.address() as AddressInfo;
process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
process.once('SIGTERM', () => server.close(() => process.exit(0)));
