// Starts the fake Twilio and the dev server binary (built by `make
// test-browser` into build/bin) on free loopback ports with a fresh state
// directory, and headless Debian chromium through playwright-core.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '..', '..');
export const shotsDir = join(root, 'docs', 'screenshots');
export const screenshots = process.env.SCREENSHOTS === '1';

export const NUMBER = '+16195550100';
export const CUSTOMER = '+16195551234';

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

// start runs a binary and resolves once its stdout matched every pattern.
function start(bin, args, env, patterns, timeoutMs = 15000) {
  return new Promise((res, rej) => {
    const p = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => { p.kill(); rej(new Error(`${bin} did not start in time:\n${out}\n${err}`)); }, timeoutMs);
    p.stdout.on('data', (d) => {
      out += d;
      if (patterns.every((re) => re.test(out))) {
        clearTimeout(timer);
        res({ proc: p, out: () => out, err: () => err });
      }
    });
    p.stderr.on('data', (d) => { err += d; });
    p.once('exit', (code) => { clearTimeout(timer); rej(new Error(`${bin} exited ${code}:\n${out}\n${err}`)); });
  });
}

export async function setup() {
  const state = await mkdtemp(join(tmpdir(), 'relay-browser-'));
  const twPort = await freePort();
  const tw = await start(join(root, 'build', 'bin', 'faketwilio'),
    ['-addr', `127.0.0.1:${twPort}`, '-auto-progress', '300ms'], {}, [/TWILIO_AUTH_TOKEN=\S+/]);
  const m = /TWILIO_API_BASE_URL=(\S+) TWILIO_ACCOUNT_SID=(\S+) TWILIO_AUTH_TOKEN=(\S+)/.exec(tw.out());
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const dev = await start(join(root, 'build', 'bin', 'devserver'), [], {
    RELAY_ADDR: `127.0.0.1:${port}`, RELAY_STATE_DIR: join(state, 'state'), RELAY_DATA_FILE: join(here, 'testdata', 'tenants.yaml'),
    RELAY_WEB_DIR: join(root, 'build', 'web'), TWILIO_API_BASE_URL: m[1], TWILIO_ACCOUNT_SID: m[2], TWILIO_AUTH_TOKEN: m[3],
    RELAY_API_TOKEN: '', LOG_LEVEL: 'warn',
  }, [/dashboard\s+\S+#access_token=\S+\s+\(qdn/]);
  const banner = dev.out();
  const link = /dashboard\s+(\S+#access_token=\S+)\s+\(qdn/.exec(banner)[1];
  const admin = /admin token\s+(\S+)/.exec(banner)[1];
  const tenantToken = /tenant qdn\s+.*token (\S+)/.exec(banner)[1];
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  if (screenshots) await mkdir(shotsDir, { recursive: true });
  const auth = { Authorization: `Bearer ${tenantToken}` };
  async function endThread(phone) {
    const list = await fetch(`${base}/api/sms/relays?status=pending&limit=100`, { headers: auth });
    if (!list.ok) return;
    const open = ((await list.json()).relays || []).filter((r) => r.customer_phone === phone);
    for (const r of open) {
      await fetch(`${base}/api/sms/ack`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' },
        body: JSON.stringify({ message_sid: r.id }) });
    }
    await new Promise((res) => setTimeout(res, 1100));
  }
  const env = {
    base, link, admin, tenantToken, twilio: m[1], browser, state,
    // text posts a customer's text through the fake Twilio, which signs the webhook.
    // Each call starts a relay of its own: the sender's open relays are
    // acknowledged first and the (1 s) conversation window is let pass, or
    // the text would join her thread as a follow-up.
    async text(body, from = CUSTOMER, to = NUMBER) {
      await endThread(from);
      const res = await fetch(`${m[1]}/_fake/inbound`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ url: `${base}/api/sms/incoming`, from, to, body }),
      });
      const j = await res.json();
      if (!res.ok || j.status !== 200) throw new Error(`inbound webhook: ${res.status} ${JSON.stringify(j)}`);
      return j.body;
    },
    async api(path, init = {}) {
      const res = await fetch(base + path, { ...init, headers: { Authorization: `Bearer ${tenantToken}`, ...(init.headers || {}) } });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
    async shot(page, name) {
      if (screenshots) await page.screenshot({ path: join(shotsDir, name + '.png') });
    },
    async close() {
      await browser.close().catch(() => {});
      dev.proc.kill('SIGTERM');
      tw.proc.kill('SIGTERM');
      await rm(state, { recursive: true, force: true });
    },
  };
  return env;
}

// signIn opens the dashboard and signs in with the form.
export async function signIn(page, env) {
  await page.goto(env.base + '/');
  await page.getByLabel('Access token').fill(env.tenantToken);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Open relays' }).waitFor({ timeout: 5000 });
}

// unlabelled lists the page's form controls that have no accessible name.
export function unlabelled(page) {
  return page.evaluate(() => {
    const bad = [];
    for (const el of document.querySelectorAll('input, select, textarea, button')) {
      if (el.type === 'hidden') continue;
      const named = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')
        || (el.tagName === 'BUTTON' && el.textContent.trim());
      if (!named) bad.push(el.outerHTML.slice(0, 120));
    }
    return bad;
  });
}

export async function writeJSON(path, v) { await writeFile(path, JSON.stringify(v, null, 2)); }
