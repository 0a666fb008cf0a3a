// Browser tests of the dashboard and the tracking page: headless chromium
// (playwright-core) against the dev server binary sending through the fake
// Twilio. Run with `make test-browser`; `make screenshots` also refreshes
// docs/screenshots/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { setup, signIn, unlabelled } from './harness.mjs';

let env;
let page;

before(async () => {
  env = await setup();
  const ctx = await env.browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  page = await ctx.newPage();
  page.setDefaultTimeout(5000);
});

after(async () => { if (env) await env.close(); });

// row returns the "Open relays" row showing a text.
const row = (text) => page.locator('table.relays tbody tr', { hasText: text });
const timeline = () => page.getByRole('region', { name: 'Relay timeline' });

test('the sign-in form refuses a wrong token and accepts the right one', async () => {
  await page.goto(env.base + '/');
  await env.shot(page, 'signin');
  await page.getByLabel('Access token').fill('not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor();
  await signIn(page, env);
  assert.deepEqual(await unlabelled(page), [], 'every control of the live view has a label');
});

test('the platform-wide admin token signs in too', async () => {
  const ctx = await env.browser.newContext();
  const p = await ctx.newPage();
  await p.goto(env.base + '/');
  await p.getByLabel('Access token').fill(env.admin);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('heading', { name: 'Open relays' }).waitFor({ timeout: 5000 });
  await ctx.close();
});

test('Cognito hosted UI: code flow with PKCE, the ID token as bearer', async () => {
  // A stand-in hosted UI: the page is told to use it, /oauth2/authorize sends
  // the browser back with a code, /oauth2/token checks the PKCE verifier
  // against the challenge (S256) and hands out an ID token the dev server takes.
  const { createHash } = await import('node:crypto');
  const idp = 'https://auth.example.test';
  const ctx = await env.browser.newContext({ bypassCSP: true }); // the dev server's CSP has no identity provider
  const p = await ctx.newPage();
  let challenge = '';
  let exchanged = null;
  await p.route('**/api/auth/config', (r) => r.fulfill({
    contentType: 'application/json',
    body: JSON.stringify({ auth: 'cognito', domain: idp, clientId: 'client123', redirectUri: env.base + '/', scope: 'openid email' }),
  }));
  await p.route(idp + '/oauth2/authorize*', (r) => {
    const u = new URL(r.request().url());
    assert.equal(u.searchParams.get('response_type'), 'code');
    assert.equal(u.searchParams.get('client_id'), 'client123');
    assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
    assert.equal(u.searchParams.get('redirect_uri'), env.base + '/');
    challenge = u.searchParams.get('code_challenge');
    r.fulfill({ status: 302, headers: { Location: `${env.base}/?code=code123&state=${u.searchParams.get('state')}` } });
  });
  await p.route(idp + '/oauth2/token', (r) => {
    const f = new URLSearchParams(r.request().postData());
    exchanged = Object.fromEntries(f);
    const ok = f.get('grant_type') === 'authorization_code' && f.get('code') === 'code123'
      && createHash('sha256').update(f.get('code_verifier')).digest('base64url') === challenge;
    r.fulfill(ok
      ? { contentType: 'application/json', body: JSON.stringify({ id_token: env.tenantToken, access_token: 'not-this-one', token_type: 'Bearer' }) }
      : { status: 400, contentType: 'application/json', body: '{"error":"invalid_grant"}' });
  });
  await p.goto(env.base + '/');
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByRole('heading', { name: 'Open relays' }).waitFor({ timeout: 5000 });
  assert.ok(exchanged && exchanged.client_id === 'client123', `token request ${JSON.stringify(exchanged)}`);
  assert.ok(!p.url().includes('code='), `the code stayed in the address bar: ${p.url()}`);
  await ctx.close();
});

test('the link the dev server prints signs in', async () => {
  const ctx = await env.browser.newContext();
  const p = await ctx.newPage();
  await p.goto(env.link);
  await p.getByRole('heading', { name: 'Open relays' }).waitFor({ timeout: 5000 });
  assert.ok(!p.url().includes('access_token'), `the token left the address bar: ${p.url()}`);
  await ctx.close();
});

test('a webhook appears in "Open relays" within 2 s, without a reload', async (t) => {
  await page.getByRole('heading', { name: 'Open relays' }).waitFor();
  const navigations = [];
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations.push(f.url()); });
  const started = Date.now();
  await env.text('need a pickup at gate 3');
  await row('need a pickup at gate 3').waitFor({ timeout: 2500 });
  const took = Date.now() - started;
  t.diagnostic(`webhook to row on screen: ${took} ms`);
  assert.ok(took <= 2500, `took ${took} ms`);
  assert.deepEqual(navigations, [], 'no reload');
  const cells = await row('need a pickup at gate 3').locator('td').allInnerTexts();
  assert.match(cells.join(' | '), /Acme Waste Inc\..*need a pickup at gate 3.*Sergio \(backup\).*Waiting for ack/s);
  assert.match(cells[4], /^\d+ s$|^\d+ m \d\d s$/, `countdown ${cells[4]}`);
  // Delivery state moves on as the fake Twilio reports it.
  await row('need a pickup at gate 3').locator('td[data-label=Delivery]', { hasText: 'delivered' }).waitFor({ timeout: 4000 });
  // Another tenant's texts never show.
  await env.text('secret text of another tenant', '+17145551234', '+17145550100');
  await page.waitForTimeout(1800);
  assert.equal(await row('secret text of another tenant').count(), 0);
  await env.shot(page, 'live');
});

test('acknowledge: the timeline shows it and the relay leaves "Open relays"', async () => {
  await row('need a pickup at gate 3').getByRole('button', { name: /Open relay/ }).click();
  const tl = timeline();
  await tl.waitFor();
  await tl.getByText('Routed to sergio_backup').waitFor();
  await tl.getByRole('button', { name: 'Acknowledge' }).click();
  await tl.getByRole('status').filter({ hasText: 'Acknowledged' }).waitFor();
  await tl.locator('li.ev.acked').waitFor();
  await tl.getByText('Acknowledged', { exact: true }).first().waitFor();
  await row('need a pickup at gate 3').waitFor({ state: 'detached', timeout: 2500 });
  await env.shot(page, 'timeline');
});

test('pass to next, reassign and add a note, each confirmed', async () => {
  await env.text('the bin is full');
  await row('the bin is full').getByRole('button', { name: /Open relay/ }).click();
  const tl = timeline();
  await tl.getByText('the bin is full').first().waitFor();
  await tl.getByRole('button', { name: 'Pass to next' }).click();
  await tl.getByRole('status').filter({ hasText: /Passed to Sergio\b/ }).waitFor();
  await tl.locator('li.ev.forwarded', { hasText: 'sergio_main' }).waitFor();
  await row('the bin is full').locator('td[data-label=Holder]', { hasText: /^Sergio$/ }).waitFor({ timeout: 2500 });

  await tl.getByLabel('Operator').selectOption({ label: 'Emergency' });
  await tl.getByRole('button', { name: 'Reassign' }).click();
  await tl.getByRole('status').filter({ hasText: 'Reassigned to Emergency' }).waitFor();
  await tl.locator('li.ev.forwarded', { hasText: 'emergency' }).waitFor();

  await tl.getByLabel('Note').fill('called the customer back');
  await tl.getByRole('button', { name: 'Add note' }).click();
  await tl.getByRole('status').filter({ hasText: 'Note added' }).waitFor();
  await tl.locator('li.ev.note', { hasText: 'called the customer back' }).waitFor();
  assert.deepEqual(await unlabelled(page), []);
});

test('keyboard: Tab reaches a relay and Enter opens its timeline', async () => {
  await env.text('keyboard only please');
  await row('keyboard only please').waitFor({ timeout: 2500 });
  await page.getByRole('region', { name: 'Relay timeline' }).getByRole('button', { name: 'Close' }).click();
  await page.getByRole('link', { name: 'Live' }).focus();
  let found = false;
  for (let i = 0; i < 40 && !found; i++) {
    await page.keyboard.press('Tab');
    found = await page.evaluate(() => (document.activeElement?.getAttribute('aria-label') || '').includes('keyboard only please'));
  }
  assert.ok(found, 'Tab reached the relay\'s Open button');
  await page.keyboard.press('Enter');
  await timeline().getByText('keyboard only please').first().waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Relay timeline', 'focus moved to the timeline');
});

test('directory: edit a job, validation next to the field', async (t) => {
  const probe = await env.api('/api/operators');
  if (probe.status === 404) {
    t.skip('Directory API absent (GET /api/operators answers 404): enabled once issue 9 is merged');
    return;
  }
  await page.getByRole('link', { name: 'Directory' }).click();
  await page.getByRole('tab', { name: 'Jobs' }).click();
  await page.getByRole('button', { name: 'Edit job job_1' }).click();
  const form = page.getByRole('form', { name: 'Edit job' });
  await form.getByLabel('State').fill('arrived');
  await form.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').filter({ hasText: 'Saved job job_1' }).waitFor();
  await page.locator('tr', { hasText: 'job_1' }).getByText('arrived').waitFor();
  const job = await env.api('/api/jobs/job_1');
  assert.equal(job.body.state, 'arrived');
  await env.shot(page, 'directory');

  await page.getByRole('tab', { name: 'Operators' }).click();
  await page.getByRole('button', { name: 'Edit operator emergency' }).click();
  const op = page.getByRole('form', { name: 'Edit operator' });
  await op.getByLabel('Phone').fill('555');
  await op.getByRole('button', { name: 'Save' }).click();
  await op.locator('.field.invalid', { has: page.getByLabel('Phone') }).locator('.field-error').waitFor();
  await op.getByRole('button', { name: 'Cancel' }).click();
  assert.deepEqual(await unlabelled(page), []);
});

test('audit: search and export maintenance.json', async () => {
  await page.getByRole('link', { name: 'Audit' }).click();
  await page.getByLabel('Customer').fill('cust_5678');
  await page.getByRole('button', { name: 'Search' }).click();
  const table = page.getByRole('table', { name: 'Audit records' });
  await table.getByText('primary_operator_assigned_to_job').first().waitFor();
  await table.getByText('called the customer back').waitFor();
  await page.getByLabel('Operator').fill('emergency');
  await page.getByRole('button', { name: 'Search' }).click();
  // The search replaces the rows: wait until every row is emergency's.
  await page.waitForFunction(() => {
    const ops = [...document.querySelectorAll('table[aria-label="Audit records"] td[data-label=Operator]')].map((td) => td.textContent);
    return ops.length > 0 && ops.every((o) => o === 'emergency');
  }, null, { timeout: 5000 });
  await page.getByLabel('Operator').fill('');

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export' }).click()]);
  assert.equal(download.suggestedFilename(), 'maintenance.json');
  const recs = JSON.parse(await readFile(await download.path(), 'utf8'));
  assert.ok(Array.isArray(recs) && recs.length >= 4, `exported ${recs.length} records`);
  for (const k of ['timestamp', 'message_sid', 'customer_id', 'customer_name', 'original_from', 'routed_to_operator', 'routing_reason', 'acknowledged', 'ack_timestamp']) {
    assert.ok(k in recs[0], `record lacks ${k}`);
  }
  assert.ok(!JSON.stringify(recs).includes('Secret Customer'), 'another tenant\'s records were exported');
  await page.getByRole('status').filter({ hasText: 'Exported maintenance.json' }).waitFor();
  assert.deepEqual(await unlabelled(page), []);
  await env.shot(page, 'audit');
});

test('insights: the three charts render', async () => {
  await page.getByRole('link', { name: 'Insights' }).click();
  for (const [id, title] of [['chart-ack', 'Time to acknowledge'], ['chart-failovers', 'Failovers per day'], ['chart-exhausted', 'Exhausted per day']]) {
    await page.getByRole('figure', { name: title }).waitFor();
    await page.locator(`#${id} canvas`).waitFor();
    const box = await page.locator(`#${id} canvas`).boundingBox();
    assert.ok(box && box.width > 200 && box.height > 100, `${title} canvas ${JSON.stringify(box)}`);
  }
  // The numbers behind the charts: one acknowledgement, two passes.
  const ack = await page.locator('table[aria-label="Time to acknowledge numbers"] thead th').allTextContents();
  assert.ok(ack.includes('sergio_backup p50') && ack.includes('sergio_backup p90'), `ack columns ${ack}`);
  const failovers = await page.locator('table[aria-label="Failovers per day numbers"] tbody td').allTextContents();
  assert.ok(failovers.map(Number).reduce((a, b) => a + b, 0) >= 1, `failovers ${failovers}`);
  await env.shot(page, 'insights');
});

test('tracking page: good link shows the job, forged and expired links do not', async () => {
  const link = await env.api('/api/track/link?job_id=job_1&customer_id=cust_5678');
  assert.equal(link.status, 200);
  const ctx = await env.browser.newContext({ viewport: { width: 390, height: 700 } });
  const p = await ctx.newPage();
  await p.goto(link.body.url);
  await p.getByRole('heading', { name: 'QuickDumpNow' }).waitFor();
  const text = await p.locator('main').innerText();
  assert.match(text, /On the way|Arrived/);
  assert.match(text, /Last update/);
  assert.ok(!/\+1\d|619/.test(text), `a phone number shows: ${text}`);
  assert.ok(!/Sergio|Emergency|sergio/.test(text), `an operator name shows: ${text}`);
  await env.shot(p, 'track');

  // The automatic reply carries a working link too (tenant option track_link).
  const twiml = await env.text('is the truck coming?');
  const m = /(http:\/\/\S+\/track\?t=[^<\s]+)/.exec(twiml);
  assert.ok(m, `auto reply without a link: ${twiml}`);
  await p.goto(m[1].replace(/&amp;/g, '&'));
  await p.getByRole('heading', { name: 'QuickDumpNow' }).waitFor();

  const tok = link.body.token;
  for (const bad of [tok.slice(0, -3) + (tok.endsWith('A') ? 'BBB' : 'AAA'), 'eyJ0IjoicWRuIn0.abc', '']) {
    await p.goto(env.base + '/track?t=' + encodeURIComponent(bad));
    await p.getByRole('heading', { name: 'Link expired' }).waitFor();
    const t = await p.locator('main').innerText();
    assert.ok(!/QuickDumpNow|en_route/.test(t), `refused link shows data: ${t}`);
  }
  await env.shot(p, 'track-expired');
  await ctx.close();
});

test('390 px wide: no sideways scrolling, actions reachable', async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
  const p = await ctx.newPage();
  p.setDefaultTimeout(5000);
  await p.goto(env.link);
  await p.getByRole('heading', { name: 'Open relays' }).waitFor();
  await env.text('phone sized text');
  await p.locator('table.relays tbody tr', { hasText: 'phone sized text' }).waitFor({ timeout: 2500 });
  const overflow = () => p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(await overflow() <= 0, `live view scrolls sideways by ${await overflow()} px`);
  await env.shot(p, 'phone-live');
  await p.locator('table.relays tbody tr', { hasText: 'phone sized text' }).getByRole('button', { name: /Open relay/ }).click();
  const tl = p.getByRole('region', { name: 'Relay timeline' });
  await tl.getByRole('button', { name: 'Acknowledge' }).scrollIntoViewIfNeeded();
  for (const name of ['Acknowledge', 'Pass to next', 'Reassign', 'Add note']) {
    const box = await tl.getByRole('button', { name }).boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${name} at ${JSON.stringify(box)}`);
  }
  assert.ok(await overflow() <= 0, `timeline scrolls sideways by ${await overflow()} px`);
  await env.shot(p, 'phone-timeline');
  const wide = () => p.evaluate(() => [...document.querySelectorAll('body *')]
    .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1 && !e.closest('.table-wrap'))
    .slice(0, 5).map((e) => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right)));
  for (const view of ['Audit', 'Insights']) {
    await p.getByRole('link', { name: view }).click();
    await p.getByRole('heading', { name: view, level: 2 }).waitFor();
    if (view === 'Audit') {
      await p.getByRole('button', { name: 'Search' }).click();
      await p.getByRole('table', { name: 'Audit records' }).waitFor();
    }
    if (view === 'Insights') await p.locator('#chart-ack canvas').waitFor();
    assert.ok(await overflow() <= 0, `${view} scrolls sideways by ${await overflow()} px: ${await wide()}`);
    await env.shot(p, 'phone-' + view.toLowerCase());
  }
  await ctx.close();
});
