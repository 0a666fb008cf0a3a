// Builds the dashboard and the tracking page into build/web (or argv[2]):
// esbuild bundles and minifies the sources; the HTML files are copied. The
// output depends only on the sources and the locked packages (no
// timestamps, no absolute paths, fixed file names), so the same sources give
// the same bytes and `cdk diff` stays quiet.
import { build } from 'esbuild';
import { mkdir, copyFile, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, '..', 'build', 'web'));

await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'track'), { recursive: true });
await build({
  absWorkingDir: here,
  entryPoints: { app: 'src/app.js', track: 'src/track.js' },
  outdir: join(out, 'assets'),
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2020'],
  legalComments: 'none',
  sourcemap: false,
  charset: 'utf8',
  logLevel: 'warning',
  jsx: 'preserve',
});
await copyFile(join(here, 'index.html'), join(out, 'index.html'));
await copyFile(join(here, 'track', 'index.html'), join(out, 'track', 'index.html'));
