// The hosted page as users get it: the release build from `ci/dist`, served under its public URL
// (`/patchbay/` in CI) with precompressed files and cache headers. What a first visit costs, a
// second visit served by the service worker, and a new deploy reaching a page that had the old
// one. (Every other e2e file runs against the same build and server.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, publicUrl, repo, tiny } from './serve.mjs';
import { stamp, APP_BUDGET_BYTES } from '../../ci/site.mjs';
import { openProfile } from './chromium.mjs';
import './views.mjs'; // acts as a user does: opens the view (and fold) of what it touches

const screenshots = path.join(repo, 'tests/e2e/screenshots');
const isApp = (p) => /\.(wasm|js|css)$/.test(p);

const visit = (site, dir) => openProfile(dir, site.app);

async function loadTiny(page, site) {
  await page.fill('#model-url', `${site.base}/models/tiny-gpt2/`);
  await page.click('#load-model');
  await page.waitForSelector('#prompt-text', { timeout: 120_000 });
}

const shellCaches = (page) => page.evaluate(async () => (await caches.keys()).sort());

test('first visit: each app file is transferred once, compressed, within the budget; a second visit transfers no app file', async () => {
  const site = await startServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'patchbay-release-'));
  const { context, page, errors } = await visit(site, dir);
  try {
    await page.waitForSelector('html[data-offline-ready=true]', { timeout: 60_000 });
    const sent = site.transfers.filter((t) => t.status === 200 && isApp(t.path));
    const wasm = sent.filter((t) => t.path.endsWith('.wasm'));
    assert.equal(wasm.length, 1, `the wasm was sent once: ${JSON.stringify(sent)}`);
    for (const t of sent) assert.equal(sent.filter((u) => u.path === t.path).length, 1, `${t.path} was sent once`);
    assert.equal(wasm[0].encoding, 'br', 'the precompressed wasm is served with Content-Encoding: br');
    const bytes = sent.reduce((sum, t) => sum + t.bytes, 0);
    assert.ok(bytes <= APP_BUDGET_BYTES, `the app transferred ${bytes} bytes, over the ${APP_BUDGET_BYTES}-byte budget`);
    console.log(`first visit: ${sent.length} app files, ${bytes} bytes as transferred`);
    const outside = site.requests.filter((p) => !p.startsWith(publicUrl));
    assert.deepEqual(outside, [], `every request stays under the public URL ${publicUrl}`);
    assert.match(await page.textContent('#build'), /^[0-9a-f]{12}$/, 'ci/dist stamped the build id');

    site.transfers.length = 0;
    await page.reload();
    await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
    await loadTiny(page, site);
    assert.deepEqual(site.transfers.filter((t) => t.status === 200 && isApp(t.path)), [], 'the second visit came from the service worker');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    site.server.close();
  }
});

test('a new deploy reaches a page that had the old one: offered, reloaded, old shell dropped, models kept', async () => {
  const site = await startServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'patchbay-release-'));
  // The second deploy: the same files under another build id (what changes for the worker).
  const next = fs.mkdtempSync(path.join(os.tmpdir(), 'patchbay-dist-'));
  fs.cpSync(path.join(repo, 'dist'), next, { recursive: true });
  for (const file of ['index.html', 'sw.js']) for (const ext of ['.br', '.gz']) fs.rmSync(path.join(next, file + ext), { force: true });
  stamp(next, 'second-build');

  const { context, page, errors } = await visit(site, dir);
  try {
    await page.waitForSelector('html[data-offline-ready=true]', { timeout: 60_000 });
    const first = await page.textContent('#build');
    await loadTiny(page, site);
    assert.deepEqual(await shellCaches(page), [`patchbay-models-v1`, `patchbay-shell-${first}`]);

    site.deploy(next);
    site.transfers.length = 0;
    await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r.update()));
    await page.waitForSelector('#update-banner', { timeout: 60_000 });
    assert.match(await page.textContent('#update-banner'), /new version of Patchbay is ready/);
    await page.screenshot({ path: path.join(screenshots, 'release-update.png') });
    await Promise.all([page.waitForEvent('load'), page.click('#apply-update')]);
    await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
    assert.equal(await page.textContent('#build'), 'second-build');
    assert.deepEqual(await shellCaches(page), ['patchbay-models-v1', 'patchbay-shell-second-build']);
    assert.deepEqual(site.transfers.filter((t) => t.status === 200 && t.path.endsWith('.wasm')), [], 'unchanged files came from the old cache');

    await loadTiny(page, site);
    assert.match(await page.textContent('#load-status'), /from the browser cache/);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    site.server.close();
  }
});

test('a model folder shipped with the site (static/models/NAME/) loads relative to the public URL', async () => {
  const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'patchbay-dist-'));
  fs.cpSync(path.join(repo, 'dist'), dist, { recursive: true });
  fs.mkdirSync(path.join(dist, 'static/models/tiny-gpt2'), { recursive: true });
  for (const file of ['config.json', 'tokenizer.json', 'model.safetensors']) fs.copyFileSync(path.join(tiny, file), path.join(dist, 'static/models/tiny-gpt2', file));
  const site = await startServer({ dist });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'patchbay-release-'));
  const { context, page, errors } = await visit(site, dir);
  try {
    await page.fill('#model-url', 'static/models/tiny-gpt2/');
    await page.click('#load-model');
    await page.waitForSelector('#prompt-text', { timeout: 120_000 });
    assert.ok(site.requests.includes(`${publicUrl}static/models/tiny-gpt2/model.safetensors`), 'the weights came from under the public URL');
    assert.deepEqual(site.requests.filter((p) => !p.startsWith(publicUrl)), [], 'nothing outside the site was asked for');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    site.server.close();
  }
});
