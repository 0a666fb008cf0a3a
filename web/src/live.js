// Live: the "Open relays" table, polled every second so a change shows within
// 2 s without a reload, and the "Relay timeline" of the selected relay with
// its actions.
import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from './html.js';
import { api, get, qs } from './api.js';
import { ago, countdown, statusLabel } from './format.js';

const POLL_MS = 1000;

// usePoll calls load now and every ms until the component goes away; a
// change of deps restarts it. It returns a function that loads at once.
function usePoll(load, ms, deps) {
  const timer = useRef(0);
  const alive = useRef(true);
  const run = useRef(null);
  run.current = async () => {
    clearTimeout(timer.current);
    try { await load(); } catch { /* the view shows its own error */ }
    if (alive.current) timer.current = setTimeout(() => run.current(), ms);
  };
  useEffect(() => {
    alive.current = true;
    run.current();
    return () => { alive.current = false; clearTimeout(timer.current); };
  }, deps);
  return () => run.current();
}

// useNow re-renders every second, for the failover countdown.
function useNow() {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

const shows = [
  { value: 'pending', label: 'Open' },
  { value: 'acked', label: 'Acknowledged' },
  { value: 'exhausted', label: 'Exhausted' },
  { value: '', label: 'All' },
];

export function Live() {
  const [show, setShow] = useState('pending');
  const [relays, setRelays] = useState(null);
  const [fetchedAt, setFetchedAt] = useState(Date.now());
  const [error, setError] = useState('');
  const [selected, setSelected] = useState(sessionStorage.getItem('relay.selected') || '');
  const now = useNow();
  const refresh = usePoll(async () => {
    try {
      const page = await get('/api/sms/relays' + qs({ status: show, limit: 100 }));
      setRelays(page.relays);
      setFetchedAt(Date.now());
      setError('');
    } catch (e) {
      setError(e.message);
      throw e;
    }
  }, POLL_MS, [show]);
  const select = (id) => { sessionStorage.setItem('relay.selected', id); setSelected(id); };

  return html`<div class="live">
    <section aria-labelledby="open-relays-h" class="panel">
      <div class="panel-head">
        <h2 id="open-relays-h">Open relays</h2>
        <label class="inline">Show
          <select value=${show} onChange=${(e) => setShow(e.target.value)}>
            ${shows.map((s) => html`<option value=${s.value}>${s.label}</option>`)}
          </select>
        </label>
      </div>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${relays === null ? html`<p>Loading…</p>` : html`<div class="table-wrap">
        <table aria-labelledby="open-relays-h" class="relays">
          <thead><tr>
            <th scope="col">Customer</th><th scope="col">Text</th><th scope="col">Holder</th>
            <th scope="col">Status</th><th scope="col">Next failover</th><th scope="col">Delivery</th><th scope="col"><span class="sr">Open</span></th>
          </tr></thead>
          <tbody>
            ${relays.length === 0 && html`<tr><td colspan="7" class="empty">No relays to show.</td></tr>`}
            ${relays.map((r) => {
              const left = r.next_failover_at ? Math.max(0, r.failover_in_ms - (now - fetchedAt)) : null;
              return html`<tr key=${r.message_sid} class=${r.message_sid === selected ? 'selected' : ''} data-sid=${r.message_sid}>
                <td data-label="Customer">${r.customer_name}</td>
                <td data-label="Text" class="text">${r.body}</td>
                <td data-label="Holder">${r.holder_name || r.holder || '—'}</td>
                <td data-label="Status"><span class=${'badge ' + r.status}>${statusLabel(r.status)}</span></td>
                <td data-label="Next failover">${left === null ? '—' : countdown(left)}</td>
                <td data-label="Delivery">${r.delivery || '—'}</td>
                <td><button type="button" onClick=${() => select(r.message_sid)}
                  aria-label=${'Open relay from ' + r.customer_name + ': ' + r.body}>Open</button></td>
              </tr>`;
            })}
          </tbody>
        </table>
      </div>`}
    </section>
    ${selected && html`<${Timeline} id=${selected} onChanged=${refresh} onClose=${() => select('')} />`}
  </div>`;
}

function Timeline({ id, onChanged, onClose }) {
  const [relay, setRelay] = useState(null);
  const [error, setError] = useState('');
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState('');
  const [target, setTarget] = useState('');
  const [operators, setOperators] = useState([]);
  const heading = useRef(null);

  const reload = usePoll(async () => {
    try {
      setRelay(await get('/api/sms/relays/' + encodeURIComponent(id)));
      setError('');
    } catch (e) {
      setError(e.status === 404 ? 'This relay is gone.' : e.message);
      throw e;
    }
  }, 2000, [id]);

  useEffect(() => { if (heading.current) heading.current.focus(); }, [id]);
  useEffect(() => {
    // Operators for Reassign: the Directory API when it exists, else the relay's chain.
    get('/api/operators').then((d) => setOperators((d.operators || []).filter((o) => o.active !== false).map((o) => ({ id: o.id, name: o.name }))))
      .catch(() => setOperators([]));
  }, []);

  const choices = operators.length ? operators : (relay ? (relay.operators || []).map((o) => ({ id: o.id, name: o.name || o.id })) : []);
  useEffect(() => { if (!target && choices.length) setTarget(choices[0].id); }, [choices.length]);

  const act = async (what, fn) => {
    setBusy(true);
    setDone('');
    try {
      const msg = await fn();
      setDone(msg);
      setError('');
      await reload();
      onChanged();
    } catch (e) {
      setError(what + ' failed: ' + e.message);
    } finally {
      setBusy(false);
    }
  };
  const ack = () => act('Acknowledge', async () => {
    await api('POST', '/api/sms/ack', { message_sid: id });
    return 'Acknowledged: the relay is no longer waiting.';
  });
  const pass = () => act('Pass to next', async () => {
    const { data } = await api('POST', '/api/sms/forward', { message_sid: id });
    const c = data.attempts && data.attempts[data.attempts.length - 1];
    return 'Passed to ' + (c ? c.name || c.operator_id : 'the next operator') + '.';
  });
  const reassign = (e) => {
    e.preventDefault();
    act('Reassign', async () => {
      const { data } = await api('POST', '/api/sms/forward', { message_sid: id, operator: target });
      const c = data.attempts && data.attempts[data.attempts.length - 1];
      return 'Reassigned to ' + (c ? c.name || c.operator_id : target) + '.';
    });
  };
  const addNote = (e) => {
    e.preventDefault();
    act('Add note', async () => {
      await api('POST', '/api/sms/audit', { message_sid: id, routing_reason: 'dispatcher_note', note });
      setNote('');
      return 'Note added to the timeline.';
    });
  };

  const open = relay && relay.status === 'pending_ack';
  return html`<section class="panel timeline" role="region" aria-labelledby="timeline-h">
    <div class="panel-head">
      <h2 id="timeline-h" tabindex="-1" ref=${heading}>Relay timeline</h2>
      <button type="button" class="link" onClick=${onClose}>Close</button>
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${relay && html`<div>
      <p class="summary"><strong>${relay.customer_name}</strong>: ${relay.body}</p>
      <p class="meta"><span class=${'badge ' + relay.status}>${statusLabel(relay.status)}</span>
        ${' '}held by ${relay.holder_name || relay.holder || 'nobody'} · ${relay.message_sid}
        ${relay.job_id && html` · job ${relay.job_id}`}</p>
      <ol class="events">
        ${relay.timeline.map((e, i) => html`<li key=${i} class=${'ev ' + e.kind}>
          <time datetime=${e.at}>${ago(e.at)}</time> <span class="kind">${e.kind}</span> ${e.text}
          ${e.actor && !e.text.includes(e.actor) && html` <span class="actor">by ${e.actor}</span>`}
        </li>`)}
      </ol>
      ${relay.thread && relay.thread.length > 0 && html`<details class="thread"><summary>Earlier texts from this customer (${relay.thread.length})</summary>
        <ul>${relay.thread.map((t) => html`<li key=${t.message_sid}>${ago(t.received_at)}: ${t.body} (${statusLabel(t.status)})</li>`)}</ul></details>`}
      <div class="actions" role="group" aria-label="Relay actions">
        <button type="button" onClick=${ack} disabled=${busy || !open}>Acknowledge</button>
        <button type="button" onClick=${pass} disabled=${busy || !open}>Pass to next</button>
        <form class="inline" onSubmit=${reassign}>
          <label for="reassign-to">Operator</label>
          <select id="reassign-to" value=${target} onChange=${(e) => setTarget(e.target.value)}>
            ${choices.map((o) => html`<option value=${o.id}>${o.name}</option>`)}
          </select>
          <button type="submit" disabled=${busy || !target}>Reassign</button>
        </form>
      </div>
      <form class="note" onSubmit=${addNote}>
        <label for="note">Note</label>
        <textarea id="note" rows="2" maxlength="2000" required value=${note} onInput=${(e) => setNote(e.target.value)}></textarea>
        <button type="submit" disabled=${busy || !note.trim()}>Add note</button>
      </form>
      <p class="done" role="status" aria-live="polite">${done}</p>
    </div>`}
  </section>`;
}
