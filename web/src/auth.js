// Sign-in. GET /api/auth/config says how. The dev server ({"auth":"token"})
// takes a bearer token, typed in or handed over in the URL fragment
// (#access_token=...) by the link the dev server prints. On AWS
// ({"auth":"cognito", "domain", "clientId", "redirectUri"}) the Cognito Hosted UI signs in with the authorization code flow and
// PKCE (RFC 7636); the ID token, which carries the tenant claim, is the
// bearer token.
const KEY = 'dispatch-relay.token';

export async function loadConfig() {
  try {
    const res = await fetch('/api/auth/config', { cache: 'no-cache' });
    if (res.ok) return await res.json();
  } catch { /* no config: the dev server's token sign-in */ }
  return { auth: 'token' };
}

export function storedToken() {
  return sessionStorage.getItem(KEY) || '';
}

export function storeToken(t) {
  if (t) sessionStorage.setItem(KEY, t); else sessionStorage.removeItem(KEY);
}

// tokenFromFragment takes #access_token=... out of the address bar.
export function tokenFromFragment() {
  const m = /(?:^#|&)access_token=([^&]+)/.exec(location.hash);
  if (!m) return '';
  history.replaceState(null, '', location.pathname + location.search);
  return decodeURIComponent(m[1]);
}

function b64url(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function randomString(n) {
  const a = new Uint8Array(n);
  crypto.getRandomValues(a);
  return b64url(a);
}

// cognitoSignIn sends the browser to the Hosted UI's authorize endpoint.
export async function cognitoSignIn(cfg) {
  const verifier = randomString(48);
  const state = randomString(16);
  sessionStorage.setItem('pkce.verifier', verifier);
  sessionStorage.setItem('pkce.state', state);
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const u = new URL('/oauth2/authorize', cfg.domain);
  u.search = new URLSearchParams({
    response_type: 'code', client_id: cfg.clientId, redirect_uri: cfg.redirectUri || location.origin + '/',
    scope: cfg.scope || 'openid email', state, code_challenge: challenge, code_challenge_method: 'S256',
  }).toString();
  location.assign(u.toString());
}

// cognitoCallback finishes the code flow when the Hosted UI sent us back.
export async function cognitoCallback(cfg) {
  const p = new URLSearchParams(location.search);
  const code = p.get('code');
  if (!code) return '';
  const state = p.get('state');
  const verifier = sessionStorage.getItem('pkce.verifier');
  history.replaceState(null, '', location.pathname);
  if (!verifier || state !== sessionStorage.getItem('pkce.state')) throw new Error('The sign-in answer does not match this browser; sign in again.');
  sessionStorage.removeItem('pkce.verifier');
  sessionStorage.removeItem('pkce.state');
  const res = await fetch(new URL('/oauth2/token', cfg.domain), {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', client_id: cfg.clientId, code, code_verifier: verifier,
      redirect_uri: cfg.redirectUri || location.origin + '/',
    }),
  });
  if (!res.ok) throw new Error('Sign-in failed (' + res.status + '); sign in again.');
  const tok = await res.json();
  return tok.id_token || '';
}

export function cognitoSignOut(cfg) {
  const u = new URL('/logout', cfg.domain);
  u.search = new URLSearchParams({ client_id: cfg.clientId, logout_uri: cfg.logoutUri || location.origin + '/' }).toString();
  location.assign(u.toString());
}
