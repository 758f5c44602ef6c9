/**
 * Drift detection: /v1/collections/{name}/drift.
 *
 * GET   …/drift            read   {state, metrics: [{name, kind, value, threshold, exceeded, window}], history, kinds, config, policy}
 * POST  …/drift/reference  write  {queries?: [text…], documents?: true}: sets the reference query sample
 *                                 (and/or re-samples the document reference); the state starts over
 * PATCH …/drift            admin  partial `settings.drift` (snake_case; see README); returns the effective config
 */
import { InvalidInputError } from '../../errors.ts';
import { driftConfigFrom, driftConfigView, mergeDriftSettings } from '../../lifecycle/drift/config.ts';
import { trainingSettingsFrom } from '../../lifecycle/training/settings.ts';
import type { ApiDeps } from '../env.ts';
import * as responses from '../responses.ts';
import { param, route, routeWithBody, type Route } from '../route.ts';
import { driftPolicyView, driftStatusView, referenceSummaryView, type ReferenceSummaryView } from '../views/drift.ts';

export function driftRoutes(deps: ApiDeps): Route[] {
  const { drift, policy } = deps.lifecycle;
  return [
    route({
      method: 'get',
      path: '/v1/collections/{name}/drift',
      operationId: 'getDrift',
      summary: 'Drift state, window metrics, history and policy decision',
      role: 'read',
      response: responses.driftStatus,
      query: [{ name: 'history', description: 'History rows, 0 to 1000 (default 50)', type: 'integer' }],
      handle: async (c) => {
        const name = param(c, 'name');
        const limitText = c.req.query('history');
        const limit = limitText === undefined ? 50 : Number(limitText);
        if (!Number.isInteger(limit) || limit < 0 || limit > 1000) throw new InvalidInputError('history must be an integer from 0 to 1000');
        const status = driftStatusView(drift.status(name, Math.max(limit, 1)));
        const decision = await policy.assess(name);
        return c.json({ ...status, history: limit === 0 ? [] : status.history, policy: driftPolicyView(decision, policy.lastActionOf(name), trainingSettingsFrom(deps.service.settingsOf(name))) });
      },
    }),
    routeWithBody({
      method: 'patch',
      path: '/v1/collections/{name}/drift',
      operationId: 'updateDriftSettings',
      summary: 'Change drift settings (partial; merged)',
      role: 'admin',
      request: deps.schemas.driftSettings,
      response: responses.driftConfig,
      handle: async (c, body) => {
        const name = param(c, 'name');
        const merged = mergeDriftSettings(deps.service.settingsOf(name).drift, body);
        await deps.service.updateCollection(name, { settings: { drift: merged } });
        return c.json({ collection: name, config: driftConfigView(driftConfigFrom({ drift: merged })) });
      },
    }),
    routeWithBody({
      method: 'post',
      path: '/v1/collections/{name}/drift/reference',
      operationId: 'setDriftReference',
      summary: 'Set the reference query sample and/or re-sample the document reference',
      role: 'write',
      request: deps.schemas.driftReference,
      response: responses.driftReferences,
      handle: async (c, body) => {
        if (body.queries === undefined && body.documents !== true) throw new InvalidInputError('give "queries" (an array of query texts) or "documents": true');
        const name = param(c, 'name');
        const references: ReferenceSummaryView[] = [];
        if (body.queries !== undefined) references.push(referenceSummaryView(await drift.setReferenceQueries(name, body.queries)));
        if (body.documents === true) references.push(referenceSummaryView(drift.captureDocumentReference(name)));
        return c.json({ collection: name, references });
      },
    }),
  ];
}
