/**
 * Drift detection: /v1/collections/{name}/drift (mounted under /v1/collections).
 *
 * GET   /:name/drift            read   {state, metrics: [{name, kind, value, threshold, exceeded, window}], history, kinds, config, policy}
 * POST  /:name/drift/reference  write  {queries?: [text…], documents?: true}: sets the reference query sample
 *                                      (and/or re-samples the document reference); the state starts over
 * PATCH /:name/drift            admin  partial `settings.drift` (snake_case; see README); returns the effective config
 */
import { Hono } from 'hono';
import { InvalidInputError } from '../../errors.ts';
import { driftConfigFrom, driftConfigView, mergeDriftSettings } from '../../lifecycle/drift/config.ts';
import type { DriftMonitor, ReferenceSummary } from '../../lifecycle/drift/monitor.ts';
import type { DriftPolicy } from '../../lifecycle/policy.ts';
import { requireCollection } from '../../search/context.ts';
import { requireRole } from '../auth.ts';
import { readJson } from '../body.ts';
import type { ApiDeps, ApiEnv } from '../env.ts';

export function driftRoutes(deps: ApiDeps, drift: DriftMonitor, policy: DriftPolicy): Hono<ApiEnv> {
  const app = new Hono<ApiEnv>();
  app.get('/:name/drift', requireRole(deps.keys, 'read'), async (c) => {
    const name = c.req.param('name');
    const limitText = c.req.query('history');
    const limit = limitText === undefined ? 50 : Number(limitText);
    if (!Number.isInteger(limit) || limit < 0 || limit > 1000) throw new InvalidInputError('history must be an integer from 0 to 1000');
    const status = drift.status(name, Math.max(limit, 1));
    const decision = await policy.assess(name);
    const lastAction = policy.lastActionOf(name);
    return c.json({
      ...status,
      history: limit === 0 ? [] : status.history,
      policy: {
        mode: decision.mode,
        decision: decision.decision,
        reason: decision.reason,
        trigger: decision.trigger,
        active: decision.active,
        target: decision.target,
        last_action: lastAction ? { decision: lastAction.decision, reason: lastAction.reason, at: lastAction.at } : null,
      },
    });
  });

  app.post('/:name/drift/reference', requireRole(deps.keys, 'write'), async (c) => {
    const body = await readJson(c, deps.schemas.driftReference);
    if (body.queries === undefined && body.documents !== true) throw new InvalidInputError('give "queries" (an array of query texts) or "documents": true');
    const name = c.req.param('name');
    const references: ReferenceSummary[] = [];
    if (body.queries !== undefined) references.push(await drift.setReferenceQueries(name, body.queries));
    if (body.documents === true) references.push(drift.captureDocumentReference(name));
    return c.json({ collection: name, references });
  });

  app.patch('/:name/drift', requireRole(deps.keys, 'admin'), async (c) => {
    const body = await readJson(c, deps.schemas.driftSettings);
    const name = c.req.param('name');
    const merged = mergeDriftSettings(requireCollection(deps.service.context, name).settings.drift, body);
    await deps.service.updateCollection(name, { settings: { drift: merged } });
    return c.json({ collection: name, config: driftConfigView(driftConfigFrom({ drift: merged })) });
  });
  return app;
}
