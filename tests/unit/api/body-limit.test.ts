// Tests src/api/body-limit.ts: oversized request bodies (413), through app.request().
import { describe, expect, it } from 'vitest';
import { expectError, LIMITS, useSeededApp, valid, type ErrorBody } from '../../helpers/api-errors.ts';
import { startTestApp } from '../../helpers/app.ts';

describe('body size limit', () => {
  const seeded = useSeededApp('sextant-body-limit-', (dataDir) => startTestApp({ dataDir, ...LIMITS }));
  const { COL, upsertRaw, searchRaw, expectIntact } = seeded;
  const byteLength = (body: unknown): number => new TextEncoder().encode(JSON.stringify(body)).length;

  it('oversized body: 413, also when sent chunked without a Content-Length', async () => {
    const big = { documents: [valid('new1'), { id: 'new2', text: 'ok', metadata: { pad: 'p'.repeat(LIMITS.maxBodyBytes) } }] };
    const bigSearch = { query: 'fox', filter: { tag: 'q'.repeat(LIMITS.maxBodyBytes) } };
    // With a declared Content-Length (as a client sending a whole body declares it): refused from the header.
    const err = expectError(await upsertRaw(big, { 'content-length': String(byteLength(big)) }), 413, 'payload_too_large');
    expect(err.message).toContain('SEXTANT_MAX_BODY_BYTES');
    expectError(await searchRaw(bigSearch, { 'content-length': String(byteLength(bigSearch)) }), 413, 'payload_too_large');
    // Without one (an in-process Request made from a string declares no length): counted as it is read.
    expect(new Request('http://localhost/', { method: 'POST', body: 'x' }).headers.has('content-length')).toBe(false);
    const undeclared = expectError(await upsertRaw(big), 413, 'payload_too_large');
    expect(undeclared.message).toContain('SEXTANT_MAX_BODY_BYTES');
    expectError(await searchRaw(bigSearch), 413, 'payload_too_large');

    // Streamed in chunks, with neither Content-Length nor a length to derive one from.
    const bytes = new TextEncoder().encode(JSON.stringify(big));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 4096) controller.enqueue(bytes.slice(i, i + 4096));
        controller.close();
      },
    });
    const res = await seeded.app.request(`/v1/collections/${COL}/documents`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit & { duplex: 'half' });
    expect(res.status).toBe(413);
    expect(((await res.json()) as ErrorBody).error.code).toBe('payload_too_large');
    await expectIntact();
  });
});
