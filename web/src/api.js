// The dashboard's API client: every call carries the bearer token, answers
// are JSON, and errors keep their status and body so views can show them
// next to the field they name.
let token = '';
let onUnauthorized = () => {};

export function setToken(t) { token = t || ''; }
export function getToken() { return token; }
export function whenUnauthorized(fn) { onUnauthorized = fn; }

export class APIError extends Error {
  constructor(status, body) {
    super((body && body.error) || `request failed (${status})`);
    this.status = status;
    this.body = body || {};
  }
}

export async function api(method, path, body, headers = {}) {
  const h = { Accept: 'application/json', ...headers };
  if (token) h.Authorization = 'Bearer ' + token;
  const init = { method, headers: h };
  if (body !== undefined) {
    h['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  let data = null;
  const text = await res.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = { error: text.slice(0, 200) }; }
  }
  if (res.status === 401) onUnauthorized();
  if (!res.ok) throw new APIError(res.status, data);
  return { data, etag: res.headers.get('ETag') || '' };
}

export const get = (path) => api('GET', path).then((r) => r.data);

export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, v);
  const s = u.toString();
  return s ? '?' + s : '';
}

// fieldErrors turns a 400 answer into {field: message}: the Directory API's
// "fields" list, or field names found at the start of the error's parts.
export function fieldErrors(err, fields) {
  const out = {};
  const list = err && err.body && err.body.fields;
  if (Array.isArray(list)) {
    for (const f of list) out[f.field] = f.message;
  } else if (list && typeof list === 'object') {
    Object.assign(out, list);
  }
  if (Object.keys(out).length === 0 && err && err.message) {
    for (const part of err.message.split(/;\s*/)) {
      const f = fields.find((name) => part.startsWith(name + ' ') || part.startsWith(name + ':'));
      if (f) out[f] = part;
    }
  }
  return out;
}
