// Runs every CloudFront Function in this directory against its fixtures:
// fixtures/<function>/<case>.json = {"event": <CloudFront event>, "output": {"request": ...}}
// (or {"response": ...} for a function that answers itself). The function file is
// loaded unmodified into a fresh VM context, as CloudFront does: a script defining
// `function handler(event)`, no module system.
// Usage: node --test cloudfront-functions/
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

// CloudFront Functions quotas: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html
const MAX_FUNCTION_BYTES = 10 * 1024;

const dir = __dirname;
const functions = fs.readdirSync(dir).filter((f) => f.endsWith('.js') && !f.endsWith('.test.js'));

function load(file) {
  const code = fs.readFileSync(path.join(dir, file), 'utf8');
  const sandbox = {};
  vm.runInNewContext(code, sandbox, { filename: file });
  return { code, handler: sandbox.handler };
}

test('every function has fixtures', () => {
  assert.ok(functions.length > 0, 'no CloudFront Function files found');
  for (const file of functions) {
    const fixtures = path.join(dir, 'fixtures', path.basename(file, '.js'));
    assert.ok(fs.existsSync(fixtures) && fs.readdirSync(fixtures).some((f) => f.endsWith('.json')),
      `${file}: no fixtures in ${path.relative(dir, fixtures)}`);
  }
});

for (const file of functions) {
  const name = path.basename(file, '.js');

  test(`${name}: fits the CloudFront Functions runtime`, () => {
    const { code, handler } = load(file);
    assert.equal(typeof handler, 'function', 'the file must define function handler(event)');
    assert.ok(Buffer.byteLength(code) <= MAX_FUNCTION_BYTES, `larger than ${MAX_FUNCTION_BYTES} bytes`);
    // No module system in cloudfront-js-2.0 (only the built-in 'crypto' and 'cloudfront' modules via require).
    assert.doesNotMatch(code, /\b(module\.exports|exports\.|import\s|export\s)/, 'no module syntax');
  });

  const fixtureDir = path.join(dir, 'fixtures', name);
  const cases = fs.existsSync(fixtureDir) ? fs.readdirSync(fixtureDir).filter((f) => f.endsWith('.json')).sort() : [];
  for (const c of cases) {
    test(`${name}: ${path.basename(c, '.json')}`, () => {
      const fixture = JSON.parse(fs.readFileSync(path.join(fixtureDir, c), 'utf8'));
      assert.ok(fixture.event && fixture.output, `${c}: want {"event": ..., "output": ...}`);
      const { handler } = load(file); // fresh context: no state leaks between cases
      const got = handler(structuredClone(fixture.event));
      const kind = got && typeof got.statusCode === 'number' ? 'response' : 'request';
      assert.deepEqual({ [kind]: JSON.parse(JSON.stringify(got)) }, fixture.output);
    });
  }
}
