// The console's only way to the server: the /v1 API with the key the user typed. The key lives in
// sessionStorage (gone when the tab closes), travels only in the Authorization header, and is
// never put in a URL, a log line or the page.

const KEY_STORAGE = 'sextant.apiKey';

export class ApiError extends Error {
  constructor(status, code, message, details, retryAfter) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }

  /** What the console shows: the API's own message, with what to do for the statuses a user can act on. */
  get explanation() {
    if (this.status === 403) return `Not allowed with this key: ${this.message}`;
    if (this.status === 429) return `Too many requests: ${this.message}${this.retryAfter ? ` (retry in ${this.retryAfter} s)` : ''}`;
    if (this.status === 401) return `Sign-in needed: ${this.message}`;
    return this.message;
  }
}

const unauthorizedListeners = new Set();

/** Called with the error whenever the API answers 401 (no key, or a key it does not know). */
export function onUnauthorized(listener) {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export const credentials = {
  get key() {
    return sessionStorage.getItem(KEY_STORAGE);
  },
  set(key) {
    sessionStorage.setItem(KEY_STORAGE, key);
  },
  clear() {
    sessionStorage.removeItem(KEY_STORAGE);
  },
};

export async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const key = credentials.key;
  if (key) headers.authorization = `Bearer ${key}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (err) {
    throw new ApiError(0, 'network', `the server cannot be reached (${err.message})`);
  }
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const e = json && json.error;
    const error = new ApiError(
      response.status,
      e?.code ?? `http_${response.status}`,
      e?.message ?? `${response.status} ${response.statusText}`,
      e?.details,
      response.headers.get('retry-after'),
    );
    if (response.status === 401) for (const listener of unauthorizedListeners) listener(error);
    throw error;
  }
  return json;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body ?? {});
export const del = (path) => api('DELETE', path);

export const enc = encodeURIComponent;

/** Roles in order; the console shows an action only to keys whose role reaches the API's. */
const RANK = { read: 1, write: 2, admin: 3 };
export const can = (role, needed) => (RANK[role] ?? 0) >= RANK[needed];
