// The console's shell: who is signed in (GET /v1/whoami), the sign-in form when the server wants
// a key, navigation, and which page the address's hash names (#/, #/collections/NAME, #/models,
// #/jobs). Hash routes keep every page one file on the server and work offline.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { credentials, get, onUnauthorized } from './api.js';
import { CollectionPage } from './collection.js';
import { JobsPage } from './jobs.js';
import { ModelsPage } from './models.js';
import { OverviewPage } from './overview.js';
import { ErrorBox, html } from './ui.js';

function parseRoute(hash) {
  const path = hash.replace(/^#/, '') || '/';
  const [pathname, query = ''] = path.split('?');
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query);
  if (parts[0] === 'collections' && parts[1]) return { page: 'collection', name: parts[1], tab: params.get('tab') ?? 'search' };
  if (parts[0] === 'models') return { page: 'models' };
  if (parts[0] === 'jobs') return { page: 'jobs' };
  return { page: 'overview' };
}

function useRoute() {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  return route;
}

function SignIn({ error, onSignedIn }) {
  const [key, setKey] = useState('');
  const [problem, setProblem] = useState(error);
  const [busy, setBusy] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    credentials.set(key.trim());
    try {
      const who = await get('/v1/whoami');
      if (who.authenticated) return onSignedIn(who);
      setProblem({ message: who.message });
    } catch (err) {
      setProblem(err);
    }
    credentials.clear();
    setBusy(false);
  };
  return html`<main class="signin">
    <h1>Sextant console</h1>
    <form onSubmit=${submit} aria-label="Sign in">
      <p>This server needs an API key. It is kept for this tab only (sessionStorage) and sent as an Authorization header.</p>
      <label for="api-key">API key</label>
      <input id="api-key" name="api-key" type="password" autocomplete="off" required value=${key} onInput=${(e) => setKey(e.currentTarget.value)} />
      <button type="submit" disabled=${busy || key.trim() === ''}>Sign in</button>
      <${ErrorBox} error=${problem} />
    </form>
  </main>`;
}

function Nav({ route, session, onSignOut }) {
  const link = (href, label, active) => html`<a href=${href} aria-current=${active ? 'page' : undefined}>${label}</a>`;
  return html`<header class="top">
    <a class="brand" href="#/">Sextant</a>
    <nav aria-label="Console pages">
      ${link('#/', 'Overview', route.page === 'overview' || route.page === 'collection')}
      ${link('#/models', 'Models', route.page === 'models')}
      ${link('#/jobs', 'Jobs', route.page === 'jobs')}
    </nav>
    <span class="who" data-role=${session.role}>${session.principal} · ${session.role}</span>
    ${credentials.key ? html`<button type="button" class="link" onClick=${onSignOut}>Sign out</button>` : null}
  </header>`;
}

function App() {
  const route = useRoute();
  const [session, setSession] = useState(undefined);
  const [authError, setAuthError] = useState(undefined);
  useEffect(() => {
    // whoami answers 200 either way (like OAuth token introspection): a wrong key is a fact to
    // show, not a failed request (the browser would log a 401 as an error).
    get('/v1/whoami').then(
      (who) => {
        if (who.authenticated) return setSession(who);
        if (credentials.key) setAuthError({ message: who.message });
        credentials.clear();
        setSession(null);
      },
      (err) => {
        setAuthError(err);
        setSession(null);
      },
    );
    // A key the server stops accepting (or a wrong one) brings the sign-in form back.
    return onUnauthorized((err) => {
      // Without a stored key a 401 only means "not signed in yet": no error to show.
      setAuthError(credentials.key ? err : undefined);
      credentials.clear();
      setSession(null);
    });
  }, []);
  if (session === undefined) return html`<p class="loading">Connecting…</p>`;
  if (session === null) return html`<${SignIn} error=${authError} onSignedIn=${(s) => (setAuthError(undefined), setSession(s))} />`;
  const signOut = () => {
    credentials.clear();
    setAuthError(undefined);
    setSession(null);
  };
  const props = { role: session.role };
  return html`<${Nav} route=${route} session=${session} onSignOut=${signOut} />
    <main id="main">
      ${route.page === 'overview' ? html`<${OverviewPage} ...${props} />` : null}
      ${route.page === 'collection' ? html`<${CollectionPage} key=${route.name} name=${route.name} tab=${route.tab} ...${props} />` : null}
      ${route.page === 'models' ? html`<${ModelsPage} ...${props} />` : null}
      ${route.page === 'jobs' ? html`<${JobsPage} ...${props} />` : null}
    </main>`;
}

render(html`<${App} />`, document.getElementById('app'));
