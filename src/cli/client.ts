/** The typed client as CLI commands given --url / SEXTANT_URL use it. */
import { SextantClient } from '../client/index.ts';

export function cliClient(url: string, apiKey: string | undefined): SextantClient {
  return new SextantClient({ url, apiKey });
}
