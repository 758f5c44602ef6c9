/**
 * API keys (`SEXTANT_API_KEYS="key:role,…"`, Authorization: Bearer <key>) and roles:
 * read (search, get) < write (documents, create collections) < admin (delete collections, models).
 */
import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { ConfigError, ForbiddenError, UnauthorizedError } from '../errors.ts';

export type Role = 'read' | 'write' | 'admin';
const RANK: Record<Role, number> = { read: 1, write: 2, admin: 3 };

export interface ApiKey {
  readonly key: string;
  readonly role: Role;
  /** Short non-secret label for logs and rate limiting. */
  readonly label: string;
}

export function parseApiKeys(spec: string): ApiKey[] {
  if (spec.trim() === '') return [];
  return spec.split(',').map((pair, i) => {
    const at = pair.lastIndexOf(':');
    const key = pair.slice(0, at).trim();
    const role = pair.slice(at + 1).trim();
    if (at <= 0 || !(role in RANK)) throw new ConfigError(`SEXTANT_API_KEYS entry ${i + 1} must be key:role with role read, write or admin`);
    if (key.length < 8) throw new ConfigError(`SEXTANT_API_KEYS entry ${i + 1}: keys must be at least 8 characters`);
    return { key, role: role as Role, label: `key${i + 1}` };
  });
}

function sameKey(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export type AuthVariables = { principal: string };

/** With no keys configured every request is allowed (the server then listens on loopback only). */
export function requireRole(keys: readonly ApiKey[], role: Role): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    if (keys.length === 0) {
      c.set('principal', 'anonymous');
      return next();
    }
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match) throw new UnauthorizedError('missing API key: send "Authorization: Bearer <key>"');
    const found = keys.find((k) => sameKey(k.key, match[1]!.trim()));
    if (!found) throw new UnauthorizedError('invalid API key');
    if (RANK[found.role] < RANK[role]) throw new ForbiddenError(`this key has role '${found.role}'; this operation needs '${role}'`);
    c.set('principal', found.label);
    return next();
  };
}
