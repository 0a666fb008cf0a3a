// Insights: from the audit of the last 14 days, "Time to acknowledge" (p50
// and p90 per operator per day), "Failovers per day" and "Exhausted per
// day", drawn with uPlot. Each chart has its numbers in a table too.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { html } from './html.js';
import { get, qs } from './api.js';

const DAYS = 14;
const MAX_RECORDS = 20000;
// A failover is a relay moving on to the next person: no ack in time, a
// failed delivery or send, another pass over the chain, or a hand-off (PASS
// or "Pass to next"). A reassignment to a chosen operator is not one.
const FAILOVER_REASONS = new Set(['no_ack_timeout', 'delivery_failed', 'send_failed', 'repeat_chain', 'operator_pass', 'manual_forward']);
const COLORS = ['#1f6feb', '#d1242f', '#1a7f37', '#9a6700', '#8250df', '#bf3989', '#0a7ea4', '#57606a'];

function dayOf(ts) { return ts.slice(0, 10); }

export function quantile(sorted, q) {
  if (!sorted.length) return null;
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (i - lo);
}

// summarize turns audit records into the three charts' series.
export function summarize(records, days) {
  const ack = new Map(); // operator → day → [seconds]
  const failovers = new Map(days.map((d) => [d, 0]));
  const exhausted = new Map(days.map((d) => [d, 0]));
  const holder = new Map(); // message sid → operator texted last
  for (const r of records) {
    if ((r.event === 'routed' || r.event === 'forwarded') && r.routed_to_operator) holder.set(r.message_sid, r.routed_to_operator);
    const d = dayOf(r.timestamp);
    if (!failovers.has(d)) continue;
    if (r.event === 'acked') {
      // An ack through the API names the dispatcher; the chart is per operator who held it.
      let op = r.routed_to_operator || '';
      if (!op || op.startsWith('api:')) op = holder.get(r.message_sid) || op || 'unknown';
      if (!ack.has(op)) ack.set(op, new Map());
      const m = ack.get(op);
      if (!m.has(d)) m.set(d, []);
      m.get(d).push(r.latency_ms / 1000);
    } else if (r.event === 'forwarded' && FAILOVER_REASONS.has(r.routing_reason)) {
      failovers.set(d, failovers.get(d) + 1);
    } else if (r.event === 'exhausted') {
      exhausted.set(d, exhausted.get(d) + 1);
    }
  }
  const ackSeries = [];
  for (const [op, m] of [...ack.entries()].sort()) {
    for (const [label, q] of [['p50', 0.5], ['p90', 0.9]]) {
      ackSeries.push({ label: `${op} ${label}`, values: days.map((d) => {
        const xs = (m.get(d) || []).slice().sort((a, b) => a - b);
        return xs.length ? Math.round(quantile(xs, q) * 10) / 10 : null;
      }) });
    }
  }
  return {
    ack: ackSeries,
    failovers: [{ label: 'Failovers', values: days.map((d) => failovers.get(d)) }],
    exhausted: [{ label: 'Exhausted', values: days.map((d) => exhausted.get(d)) }],
  };
}

function lastDays(n) {
  const out = [];
  const today = new Date();
  for (let i = n - 1; i >= 0; i--) {
    const d = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - i));
    out.push(d.toISOString().slice(0, 10));
  }
  return out;
}

export function Insights() {
  const [data, setData] = useState(null);
  const [error, setError] = useState('');
  const [count, setCount] = useState(0);
  useEffect(() => {
    (async () => {
      const days = lastDays(DAYS);
      const since = days[0] + 'T00:00:00Z';
      const records = [];
      let cursor = '';
      try {
        do {
          const d = await get('/api/sms/audit' + qs({ since, limit: 1000, cursor }));
          records.push(...d.records);
          cursor = d.next || '';
        } while (cursor && records.length < MAX_RECORDS);
        setCount(records.length);
        setData({ days, ...summarize(records, days) });
      } catch (e) {
        setError(e.message);
      }
    })();
  }, []);
  return html`<section class="panel" aria-labelledby="insights-h">
    <h2 id="insights-h">Insights</h2>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${!data && !error && html`<p>Reading the audit…</p>`}
    ${data && html`<p class="help">${count} audit events since ${data.days[0]} (UTC days).</p>
      <div class="charts">
        <${Chart} id="chart-ack" title="Time to acknowledge" unit="seconds" days=${data.days} series=${data.ack} />
        <${Chart} id="chart-failovers" title="Failovers per day" unit="failovers" days=${data.days} series=${data.failovers} bars />
        <${Chart} id="chart-exhausted" title="Exhausted per day" unit="relays" days=${data.days} series=${data.exhausted} bars />
      </div>`}
  </section>`;
}

function Chart({ id, title, unit, days, series, bars }) {
  const box = useRef(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const xs = days.map((d) => Date.parse(d + 'T00:00:00Z') / 1000);
    const width = () => Math.max(260, Math.min(el.clientWidth || 600, 900));
    const opts = {
      width: width(), height: 220,
      // Half a day of margin each side, so the first and last bars are whole.
      scales: { x: { time: true, range: (u, min, max) => [min - 43200, max + 43200] }, y: { range: (u, min, max) => [0, Math.max(1, max === null ? 1 : max * 1.1)] } },
      axes: [{}, { label: unit }],
      legend: { show: true },
      series: [{ label: 'day', value: (u, v) => (v === null ? '' : new Date(v * 1000).toISOString().slice(0, 10)) }].concat(
        (series.length ? series : [{ label: 'no data', values: days.map(() => null) }]).map((s, i) => ({
          label: s.label, stroke: COLORS[i % COLORS.length], width: 2,
          fill: bars ? COLORS[i % COLORS.length] + '33' : undefined,
          paths: bars ? uPlot.paths.bars({ size: [0.6, 40] }) : undefined,
          points: { show: true },
          spanGaps: !bars,
        }))),
    };
    const data = [xs, ...(series.length ? series : [{ values: days.map(() => null) }]).map((s) => s.values)];
    const plot = new uPlot(opts, data, el);
    const onResize = () => plot.setSize({ width: width(), height: 220 });
    addEventListener('resize', onResize);
    return () => { removeEventListener('resize', onResize); plot.destroy(); };
  }, [days, series]);
  return html`<figure class="chart" aria-labelledby=${id + '-t'}>
    <figcaption id=${id + '-t'}>${title}</figcaption>
    <div ref=${box} id=${id} class="plot" role="img" aria-label=${title + ' chart, ' + unit + ' per day'}></div>
    <details><summary>${title}: numbers</summary>
      <div class="table-wrap"><table aria-label=${title + ' numbers'}>
        <thead><tr><th scope="col">Day</th>${series.map((s) => html`<th scope="col">${s.label}</th>`)}</tr></thead>
        <tbody>${days.map((d, i) => html`<tr><th scope="row">${d}</th>${series.map((s) => html`<td>${s.values[i] ?? '—'}</td>`)}</tr>`)}</tbody>
      </table></div></details>
  </figure>`;
}
