// Directory: operators, customers and jobs through the Directory API
// (GET lists, PUT /api/<kind>/{id} with If-Match), with each validation
// message shown next to its field. Jobs also give the customer's tracking link.
import { useEffect, useState } from 'preact/hooks';
import { html } from './html.js';
import { api, get, qs, fieldErrors } from './api.js';

const kinds = {
  operators: {
    title: 'Operators', singular: 'operator',
    fields: [
      { name: 'id', label: 'Id', key: true }, { name: 'name', label: 'Name' }, { name: 'phone', label: 'Phone', type: 'tel' },
      { name: 'active', label: 'Active', type: 'checkbox' },
    ],
  },
  customers: {
    title: 'Customers', singular: 'customer',
    fields: [{ name: 'id', label: 'Id', key: true }, { name: 'name', label: 'Name' }, { name: 'phone', label: 'Phone', type: 'tel' }],
  },
  jobs: {
    title: 'Jobs', singular: 'job',
    fields: [
      { name: 'id', label: 'Id', key: true }, { name: 'customer', label: 'Customer' }, { name: 'state', label: 'State' },
      { name: 'operator', label: 'Operator' },
    ],
  },
};

export function Directory() {
  const [kind, setKind] = useState('jobs');
  const [missing, setMissing] = useState(false);
  useEffect(() => {
    get('/api/operators' + qs({ limit: 1 })).then(() => setMissing(false)).catch((e) => setMissing(e.status === 404 || e.status === 501));
  }, []);
  if (missing) {
    return html`<section class="panel" aria-labelledby="dir-h"><h2 id="dir-h">Directory</h2>
      <p role="status">The Directory API is not available on this server, so operators, customers and jobs cannot be shown or edited here.</p></section>`;
  }
  return html`<section class="panel" aria-labelledby="dir-h">
    <h2 id="dir-h">Directory</h2>
    <div class="tabs" role="tablist" aria-label="Directory lists">
      ${Object.entries(kinds).map(([k, d]) => html`<button type="button" role="tab" aria-selected=${k === kind}
        id=${'tab-' + k} aria-controls="dir-panel" onClick=${() => setKind(k)}>${d.title}</button>`)}
    </div>
    <div id="dir-panel" role="tabpanel" aria-labelledby=${'tab-' + kind}><${List} key=${kind} kind=${kind} /></div>
  </section>`;
}

function List({ kind }) {
  const def = kinds[kind];
  const [items, setItems] = useState(null);
  const [next, setNext] = useState('');
  const [error, setError] = useState('');
  const [editing, setEditing] = useState(null); // {item, etag, isNew}
  const [done, setDone] = useState('');

  const load = async (cursor = '') => {
    try {
      const d = await get('/api/' + kind + qs({ limit: 100, cursor }));
      setItems((prev) => (cursor ? [...(prev || []), ...d[kind]] : d[kind]));
      setNext(d.next || '');
      setError('');
    } catch (e) {
      setError(e.message);
    }
  };
  useEffect(() => { load(); }, [kind]);

  const edit = async (item) => {
    setDone('');
    try {
      const r = await api('GET', '/api/' + kind + '/' + encodeURIComponent(item.id));
      setEditing({ item: r.data, etag: r.etag, isNew: false });
    } catch (e) {
      setError(e.message);
    }
  };
  const saved = (item, isNew) => {
    setEditing(null);
    setDone((isNew ? 'Added ' : 'Saved ') + def.singular + ' ' + item.id + '.');
    load();
  };

  return html`<div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <p class="done" role="status" aria-live="polite">${done}</p>
    ${editing && html`<${Editor} kind=${kind} def=${def} edit=${editing} onSaved=${saved} onCancel=${() => setEditing(null)} />`}
    <button type="button" onClick=${() => { setDone(''); setEditing({ item: kind === 'operators' ? { active: true } : {}, etag: '', isNew: true }); }}>Add ${def.singular}</button>
    ${items === null ? html`<p>Loading…</p>` : html`<div class="table-wrap"><table aria-label=${def.title}>
      <thead><tr>${def.fields.map((f) => html`<th scope="col">${f.label}</th>`)}<th scope="col"><span class="sr">Actions</span></th></tr></thead>
      <tbody>
        ${items.length === 0 && html`<tr><td colspan=${def.fields.length + 1} class="empty">None yet.</td></tr>`}
        ${items.map((it) => html`<tr key=${it.id}>
          ${def.fields.map((f) => html`<td data-label=${f.label}>${f.type === 'checkbox' ? (it[f.name] === false ? 'no' : 'yes') : it[f.name]}</td>`)}
          <td><button type="button" onClick=${() => edit(it)} aria-label=${'Edit ' + def.singular + ' ' + it.id}>Edit</button>
            ${kind === 'jobs' && html` <${TrackLink} job=${it} />`}</td>
        </tr>`)}
      </tbody></table></div>
      ${next && html`<button type="button" onClick=${() => load(next)}>More</button>`}`}
  </div>`;
}

function Editor({ kind, def, edit, onSaved, onCancel }) {
  const [item, setItem] = useState({ ...edit.item });
  const [errors, setErrors] = useState({});
  const [general, setGeneral] = useState('');
  const [busy, setBusy] = useState(false);
  const set = (name, v) => setItem((p) => ({ ...p, [name]: v }));
  const save = async (e) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setGeneral('');
    const body = {};
    for (const f of def.fields) {
      if (f.type === 'checkbox') body[f.name] = item[f.name] !== false;
      else if (item[f.name] !== undefined && item[f.name] !== '') body[f.name] = String(item[f.name]).trim();
    }
    for (const [k, v] of Object.entries(item)) if (!(k in body) && !def.fields.find((f) => f.name === k)) body[k] = v;
    delete body.tenant_id;
    const id = (body.id || '').trim();
    if (!id) {
      setErrors({ id: 'id is required' });
      setBusy(false);
      return;
    }
    try {
      const headers = edit.etag ? { 'If-Match': edit.etag } : {};
      const r = await api('PUT', '/api/' + kind + '/' + encodeURIComponent(id), body, headers);
      onSaved(r.data || body, edit.isNew);
    } catch (err) {
      const fe = err.status === 400 ? fieldErrors(err, def.fields.map((f) => f.name)) : {};
      setErrors(fe);
      if (Object.keys(fe).length === 0) setGeneral(err.status === 412 ? 'Someone else changed this entry; close and edit it again.' : err.message);
    } finally {
      setBusy(false);
    }
  };
  const fid = (n) => `edit-${kind}-${n}`;
  return html`<form class="editor" onSubmit=${save} aria-label=${(edit.isNew ? 'Add ' : 'Edit ') + def.singular} noValidate>
    <h3>${edit.isNew ? 'Add ' + def.singular : 'Edit ' + def.singular + ' ' + edit.item.id}</h3>
    ${def.fields.map((f) => html`<div class=${'field' + (errors[f.name] ? ' invalid' : '')}>
      ${f.type === 'checkbox'
        ? html`<label><input type="checkbox" id=${fid(f.name)} checked=${item[f.name] !== false}
            onChange=${(e) => set(f.name, e.target.checked)} /> ${f.label}</label>`
        : html`<label for=${fid(f.name)}>${f.label}</label>
          <input id=${fid(f.name)} name=${f.name} type=${f.type || 'text'} value=${item[f.name] ?? ''}
            readOnly=${f.key && !edit.isNew} aria-invalid=${errors[f.name] ? 'true' : undefined}
            aria-describedby=${errors[f.name] ? fid(f.name) + '-err' : undefined}
            onInput=${(e) => set(f.name, e.target.value)} />`}
      ${errors[f.name] && html`<p class="field-error" id=${fid(f.name) + '-err'}>${errors[f.name]}</p>`}
    </div>`)}
    ${general && html`<p class="error" role="alert">${general}</p>`}
    <div class="buttons"><button type="submit" disabled=${busy}>Save</button>
      <button type="button" class="secondary" onClick=${onCancel}>Cancel</button></div>
  </form>`;
}

function TrackLink({ job }) {
  const [url, setUrl] = useState('');
  const [error, setError] = useState('');
  const make = async () => {
    try {
      const d = await get('/api/track/link' + qs({ job_id: job.id, customer_id: job.customer || job.customer_id }));
      setUrl(d.url);
      setError('');
    } catch (e) {
      setError(e.message);
    }
  };
  return html`<span class="track-link">
    <button type="button" onClick=${make} aria-label=${'Tracking link for job ' + job.id}>Tracking link</button>
    ${url && html`<label class="sr" for=${'track-' + job.id}>Tracking link for job ${job.id}</label>
      <input id=${'track-' + job.id} class="url" readOnly value=${url} onFocus=${(e) => e.target.select()} />`}
    ${error && html`<span class="field-error" role="alert">${error}</span>`}
  </span>`;
}
