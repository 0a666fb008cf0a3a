// The customer's tracking page: /track?t=<token>. It shows the business,
// the job's state and the last update, and nothing else (no phone numbers,
// no operator names). Any refused token shows a plain "link expired" page.
import './track.css';

const labels = {
  scheduled: 'Scheduled', en_route: 'On the way', arrived: 'Arrived', in_progress: 'In progress',
  completed: 'Completed', complete: 'Completed', done: 'Completed', cancelled: 'Cancelled', canceled: 'Cancelled',
};

function stateLabel(s) {
  return labels[s] || (s ? s.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()) : 'Received');
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function expired(root) {
  document.title = 'Link expired';
  root.replaceChildren(el('h1', 'Link expired'),
    el('p', 'This tracking link has expired or is not valid. Text the business for a new one.'));
}

async function main() {
  const root = document.getElementById('track');
  const t = new URLSearchParams(location.search).get('t');
  if (!t) return expired(root);
  let res;
  try {
    res = await fetch('/api/track?t=' + encodeURIComponent(t), { headers: { Accept: 'application/json' } });
  } catch {
    root.replaceChildren(el('h1', 'Try again'), el('p', 'The page could not reach the server. Reload in a moment.'));
    return undefined;
  }
  if (!res.ok) {
    if (res.status >= 500) {
      root.replaceChildren(el('h1', 'Try again'), el('p', 'The server is busy. Reload in a moment.'));
      return undefined;
    }
    return expired(root);
  }
  const v = await res.json();
  document.title = v.business + ': your job';
  const dl = el('dl');
  dl.append(el('dt', 'Status'), el('dd', stateLabel(v.state), 'state'));
  dl.append(el('dt', 'Last update'), el('dd', v.last_update ? new Date(v.last_update).toLocaleString() : 'No updates yet', 'updated'));
  dl.append(el('dt', 'Reference'), el('dd', v.reference));
  root.replaceChildren(el('h1', v.business), el('p', 'Your job', 'sub'), dl);
  return undefined;
}

main();
