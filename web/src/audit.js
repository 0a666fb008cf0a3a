// Audit: search the audit events by customer, operator, message and time,
// page through them, and export maintenance.json for the same time range.
import { useState } from 'preact/hooks';
import { html } from './html.js';
import { api, get, getToken, qs, fieldErrors } from './api.js';
import { ago, localInputToISO } from './format.js';

export function Audit() {
  const [f, setF] = useState({ customer_id: '', operator: '', message_sid: '', since: '', until: '' });
  const [records, setRecords] = useState(null);
  const [next, setNext] = useState('');
  const [error, setError] = useState('');
  const [errors, setErrors] = useState({});
  const [done, setDone] = useState('');
  const set = (k) => (e) => setF({ ...f, [k]: e.target.value });
  const params = () => ({
    customer_id: f.customer_id.trim(), operator: f.operator.trim(), message_sid: f.message_sid.trim(),
    since: localInputToISO(f.since), until: localInputToISO(f.until),
  });

  const search = async (e, cursor = '') => {
    if (e) e.preventDefault();
    setError('');
    setErrors({});
    setDone('');
    try {
      const d = await get('/api/sms/audit' + qs({ ...params(), limit: 100, cursor }));
      setRecords((prev) => (cursor ? [...(prev || []), ...d.records] : d.records));
      setNext(d.next || '');
    } catch (err) {
      const fe = fieldErrors(err, ['customer_id', 'operator', 'message_sid', 'since', 'until']);
      setErrors(fe);
      if (!Object.keys(fe).length) setError(err.message);
    }
  };

  const exportFile = async () => {
    setError('');
    setDone('');
    const p = params();
    try {
      const res = await fetch('/api/sms/audit/export' + qs({ since: p.since, until: p.until }), {
        headers: { Authorization: 'Bearer ' + getToken() },
      });
      if (!res.ok) {
        let msg = 'export failed (' + res.status + ')';
        try { msg = (await res.json()).error || msg; } catch { /* not JSON */ }
        throw new Error(msg);
      }
      const blob = await res.blob();
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = 'maintenance.json';
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
      setDone('Exported maintenance.json (' + Math.ceil(blob.size / 1024) + ' KB).');
    } catch (err) {
      setError(err.message);
    }
  };

  const field = (k, label, type = 'text', hint = '') => html`<div class=${'field' + (errors[k] ? ' invalid' : '')}>
    <label for=${'audit-' + k}>${label}</label>
    <input id=${'audit-' + k} type=${type} value=${f[k]} onInput=${set(k)} placeholder=${hint}
      aria-invalid=${errors[k] ? 'true' : undefined} aria-describedby=${errors[k] ? 'audit-' + k + '-err' : undefined} />
    ${errors[k] && html`<p class="field-error" id=${'audit-' + k + '-err'}>${errors[k]}</p>`}
  </div>`;

  return html`<section class="panel" aria-labelledby="audit-h">
    <h2 id="audit-h">Audit</h2>
    <form class="search" onSubmit=${search} role="search" aria-label="Search the audit">
      ${field('customer_id', 'Customer', 'text', 'cust_5678')}
      ${field('operator', 'Operator', 'text', 'sergio_main')}
      ${field('message_sid', 'Message', 'text', 'SM…')}
      ${field('since', 'From', 'datetime-local')}
      ${field('until', 'To', 'datetime-local')}
      <div class="buttons"><button type="submit">Search</button>
        <button type="button" class="secondary" onClick=${exportFile}>Export</button></div>
    </form>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <p class="done" role="status" aria-live="polite">${done}</p>
    ${records && html`<div class="table-wrap"><table aria-label="Audit records">
      <thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Customer</th><th scope="col">Operator</th>
        <th scope="col">Reason</th><th scope="col">Message</th><th scope="col">Note</th></tr></thead>
      <tbody>
        ${records.length === 0 && html`<tr><td colspan="7" class="empty">No audit records match.</td></tr>`}
        ${records.map((r) => html`<tr key=${r.event_id}>
          <td data-label="Time"><time datetime=${r.timestamp}>${ago(r.timestamp)}</time></td>
          <td data-label="Event">${r.event}</td>
          <td data-label="Customer">${r.customer_name || r.customer_id}</td>
          <td data-label="Operator">${r.routed_to_operator}</td>
          <td data-label="Reason">${r.routing_reason}</td>
          <td data-label="Message" class="sid">${r.message_sid}</td>
          <td data-label="Note">${r.note || r.error || ''}</td>
        </tr>`)}
      </tbody></table></div>
      ${next && html`<button type="button" onClick=${() => search(null, next)}>More</button>`}`}
  </section>`;
}
