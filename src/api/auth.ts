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

/** Who made the request (a key's label, or 'anonymous' without keys) and the role its key carries. */
export type AuthVariables = { principal: string; role: Role };

/** Who a request's Authorization header names: a configured key, or why it names none. */
export type Identity = { readonly ok: true; readonly principal: string; readonly role: Role } | { readonly ok: false; readonly message: string };

/** With no keys configured everyone is 'anonymous' with the admin role (the server then listens on loopback only). */
export function identify(keys: readonly ApiKey[], authorization: string | undefined): Identity {
  if (keys.length === 0) return { ok: true, principal: 'anonymous', role: 'admin' };
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  if (!match) return { ok: false, message: 'missing API key: send "Authorization: Bearer <key>"' };
  const found = keys.find((k) => sameKey(k.key, match[1]!.trim()));
  if (!found) return { ok: false, message: 'invalid API key' };
  return { ok: true, principal: found.label, role: found.role };
}

/** Refuses requests without a key of at least `role`; sets `principal` and `role` for the handlers. */
export function requireRole(keys: readonly ApiKey[], role: Role): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const who = identify(keys, c.req.header('authorization'));
    if (!who.ok) throw new UnauthorizedError(who.message);
    if (RANK[who.role] < RANK[role]) throw new ForbiddenError(`this key has role '${who.role}'; this operation needs '${role}'`);
    c.set('principal', who.principal);
    c.set('role', who.role);
    return next();
  };
}
