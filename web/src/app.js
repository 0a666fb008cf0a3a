// The dashboard: sign-in, then four views (Live, Directory, Audit,
// Insights) chosen by the address's fragment, so each has a link and the
// back button works.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { api, setToken, whenUnauthorized } from './api.js';
import { loadConfig, storedToken, storeToken, tokenFromFragment, cognitoSignIn, cognitoCallback, cognitoSignOut } from './auth.js';
import { Live } from './live.js';
import { Directory } from './directory.js';
import { Audit } from './audit.js';
import { Insights } from './insights.js';
import 'uplot/dist/uPlot.min.css';
import './style.css';

const views = [
  { id: 'live', label: 'Live', view: Live },
  { id: 'directory', label: 'Directory', view: Directory },
  { id: 'audit', label: 'Audit', view: Audit },
  { id: 'insights', label: 'Insights', view: Insights },
];

function currentView() {
  const id = location.hash.replace(/^#\/?/, '');
  return views.find((v) => v.id === id) ? id : 'live';
}

function SignIn({ cfg, error, onToken }) {
  const [value, setValue] = useState('');
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState(error || '');
  if (cfg.auth === 'cognito') {
    return html`<main class="signin">
      <h1>dispatch-relay</h1>
      ${msg && html`<p class="error" role="alert">${msg}</p>`}
      <button type="button" onClick=${() => cognitoSignIn(cfg)}>Sign in</button>
    </main>`;
  }
  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setMsg('');
    const err = await onToken(value.trim());
    setBusy(false);
    if (err) setMsg(err);
  };
  return html`<main class="signin">
    <h1>dispatch-relay</h1>
    <form onSubmit=${submit}>
      <label for="token">Access token</label>
      <input id="token" name="token" type="password" autocomplete="off" required value=${value}
        onInput=${(e) => setValue(e.target.value)} aria-describedby="token-help" />
      <p id="token-help" class="help">The dev server prints a token and a sign-in link when it starts.</p>
      ${msg && html`<p class="error" role="alert">${msg}</p>`}
      <button type="submit" disabled=${busy}>Sign in</button>
    </form>
  </main>`;
}

// check proves a token by reading one relay; it returns an error message or ''.
async function check(token) {
  setToken(token);
  try {
    await api('GET', '/api/sms/relays?limit=1');
    return '';
  } catch (e) {
    setToken('');
    return e.status === 401 ? 'That access token was not accepted.' : e.message;
  }
}

function App({ cfg, initialError }) {
  const [signedIn, setSignedIn] = useState(false);
  const [error, setError] = useState(initialError || '');
  const [view, setView] = useState(currentView());
  const [ready, setReady] = useState(false);

  useEffect(() => {
    const onHash = () => setView(currentView());
    addEventListener('hashchange', onHash);
    whenUnauthorized(() => { storeToken(''); setToken(''); setSignedIn(false); setError('Your session ended; sign in again.'); });
    (async () => {
      const t = storedToken();
      if (t && !(await check(t))) setSignedIn(true);
      setReady(true);
    })();
    return () => removeEventListener('hashchange', onHash);
  }, []);

  const onToken = async (t) => {
    const err = await check(t);
    if (!err) { storeToken(t); setSignedIn(true); setError(''); }
    return err;
  };
  const signOut = () => {
    storeToken('');
    setToken('');
    setSignedIn(false);
    if (cfg.auth === 'cognito') cognitoSignOut(cfg);
  };

  if (!ready) return html`<p class="loading">Loading…</p>`;
  if (!signedIn) return html`<${SignIn} cfg=${cfg} error=${error} onToken=${onToken} />`;
  const View = views.find((v) => v.id === view).view;
  return html`<div class="shell">
    <header>
      <a class="skip" href="#main" onClick=${(e) => { e.preventDefault(); document.getElementById('main').focus(); }}>Skip to content</a>
      <strong class="brand">dispatch-relay</strong>
      <nav aria-label="Views">
        <ul>${views.map((v) => html`<li><a href=${'#/' + v.id} aria-current=${v.id === view ? 'page' : undefined}>${v.label}</a></li>`)}</ul>
      </nav>
      <button type="button" class="link" onClick=${signOut}>Sign out</button>
    </header>
    <main id="main" tabindex="-1"><${View} /></main>
  </div>`;
}

(async () => {
  const cfg = await loadConfig();
  let initialError = '';
  if (cfg.auth === 'cognito') {
    try {
      const t = await cognitoCallback(cfg);
      if (t) storeToken(t);
    } catch (e) {
      initialError = e.message;
    }
  } else {
    const t = tokenFromFragment();
    if (t) storeToken(t);
  }
  const root = document.getElementById('app');
  root.textContent = '';
  render(html`<${App} cfg=${cfg} initialError=${initialError} />`, root);
})();
