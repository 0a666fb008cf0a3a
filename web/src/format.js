// Formatting shared by the views.
export function ago(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function countdown(ms) {
  if (ms === null || ms === undefined) return '—';
  const s = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(s / 60);
  return m > 0 ? `${m} m ${String(s % 60).padStart(2, '0')} s` : `${s} s`;
}

export const statusLabel = (s) => ({ pending_ack: 'Waiting for ack', acked: 'Acknowledged', exhausted: 'Exhausted' }[s] || s);

export function localInputToISO(v) {
  if (!v) return '';
  const d = new Date(v);
  return isNaN(d) ? '' : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
