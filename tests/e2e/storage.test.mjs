// Results stay on the user's machine: the history in IndexedDB across reloads and browser
// restarts, export/import, share links recomputed in a fresh profile, course embeds, offline
// visits, storage faults, and a security policy that lets the page contact nobody else.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, repo } from './serve.mjs';
import { cpuArgs, executablePath, openProfile } from './chromium.mjs';
import { resultHeight, runSpec } from './page.mjs';
import './views.mjs'; // acts as a user does: opens the view (and fold) of what it touches

const args = cpuArgs;
const screenshots = path.join(repo, 'tests/e2e/screenshots');
const example = (name) => fs.readFileSync(path.join(repo, `static/experiments/${name}.json`), 'utf8');

let server;
before(async () => {
  server = await startServer();
  fs.mkdirSync(screenshots, { recursive: true });
});
after(() => server.server.close());

/** A browser profile that survives restarts (IndexedDB, Cache API, service worker). */
const profile = (dir, site = server) => openProfile(dir, site.app, { acceptDownloads: true });

async function loadTiny(page, base = server.base) {
  await page.fill('#model-url', `${base}/models/tiny-gpt2/`);
  await page.click('#load-model');
  await page.waitForSelector('#prompt-text', { timeout: 120_000 });
}

const values = (page, grid) => page.$$eval(`table[data-grid="${grid}"] td[data-value]`, (tds) => tds.map((td) => td.dataset.value));
const listed = (page) => page.$$eval('#history-list li', (lis) => lis.map((li) => ({ id: li.dataset.runId, pinned: li.dataset.pinned, name: li.querySelector('.run-name')?.value })));

async function download(page, click) {
  const [file] = await Promise.all([page.waitForEvent('download'), click()]);
  return { name: file.suggestedFilename(), bytes: fs.readFileSync(await file.path()) };
}

test('history: kept across reloads, tabs and browser restarts; renamed, pinned, searched, opened without the model', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'patchbay-profile-'));
  let { context, page, errors } = await profile(dir);
  try {
    const other = await context.newPage();
    await other.goto(server.app);
    await other.waitForSelector('#history-list', { state: 'attached' });

    await loadTiny(page);
    const id = await runSpec(page, example('ioi-zero-ablation-heads'));
    const grid = await values(page, 'ablate.zero_head_z');
    assert.equal(grid.length, 8);
    await page.waitForSelector(`#history-list li[data-run-id="${id}"]`);
    await other.waitForSelector(`#history-list li[data-run-id="${id}"]`, { timeout: 10_000 });
    await other.close();

    await page.fill(`li[data-run-id="${id}"] .run-name`, 'heads, zeroed');
    await page.press(`li[data-run-id="${id}"] .run-name`, 'Enter');
    await page.waitForFunction(() => document.querySelector('#history-message')?.textContent.includes('renamed'));
    await page.click(`li[data-run-id="${id}"] .pin-run`);
    await page.waitForSelector(`li[data-run-id="${id}"][data-pinned=true]`);
    const second = await runSpec(page, example('ioi-zero-ablation-mlp'));
    await page.waitForSelector(`#history-list li[data-run-id="${second}"]`);
    assert.deepEqual((await listed(page)).map((r) => r.id), [id, second], 'pinned first');

    await page.reload();
    await page.waitForSelector(`li[data-run-id="${id}"]`);
    assert.deepEqual(await listed(page), [{ id, pinned: 'true', name: 'heads, zeroed' }, { id: second, pinned: 'false', name: 'IOI: zero-ablate each MLP layer' }]);
    await page.fill('#history-search', 'mlp');
    assert.deepEqual((await listed(page)).map((r) => r.id), [second]);
    await page.fill('#history-search', '');
    await context.close();

    ({ context, page, errors } = await profile(dir));
    await page.waitForSelector(`li[data-run-id="${id}"]`);
    assert.equal(await page.$('#prompt-text'), null, 'no model loaded after the restart');
    await page.click(`li[data-run-id="${id}"] .open-run`);
    await page.waitForSelector(`#experiment-result[data-run-id="${id}"]`);
    assert.deepEqual(await values(page, 'ablate.zero_head_z'), grid, 'the figure comes back without recomputing');
    await page.screenshot({ path: path.join(screenshots, 'history.png'), fullPage: true });

    await page.click(`li[data-run-id="${second}"] .delete-run`);
    await page.waitForFunction((gone) => !document.querySelector(`li[data-run-id="${gone}"]`), second);
    assert.deepEqual((await listed(page)).map((r) => r.id), [id]);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('with the model in the browser cache, two interactions put the IOI patching figure on screen: Load, Run', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'patchbay-profile-'));
  let { context, page, errors } = await profile(dir);
  try {
    await loadTiny(page);
    await context.close();

    // The next visit: the page opens at the model, offering the one loaded last.
    ({ context, page, errors } = await profile(dir));
    await page.setViewportSize({ width: 1280, height: 900 });
    const interactions = [];
    const act = async (selector) => {
      assert.ok(await page.isVisible(selector), `${selector} is on screen without another step`);
      interactions.push(selector);
      await page.click(selector);
    };
    assert.equal(await page.inputValue('#model-url'), `${server.base}/models/tiny-gpt2/`);
    await act('#load-model');
    await page.waitForFunction(() => !document.querySelector('#run-experiment').disabled, null, { timeout: 120_000 });
    assert.match(await page.textContent('#load-status'), /from the browser cache/);
    await act('#run-experiment');
    await page.waitForFunction(() => document.querySelector('.figure-slot:not([hidden]) table[data-grid^="patch."]')?.checkVisibility(), null, { timeout: 300_000 });
    assert.deepEqual(interactions, ['#load-model', '#run-experiment']);
    assert.equal(await page.getAttribute('#experiment-result', 'data-run-id') !== null, true);
    assert.match(await page.textContent('#experiment-result h3'), /IOI: activation patching/);
    const { height, screen } = await resultHeight(page);
    assert.ok(height <= 2 * screen, `the result view is ${height} px at 1280 px (two screens: ${2 * screen} px)`);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('a figure compared with another stored run of the same shape: the difference, or side by side', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'patchbay-profile-'));
  const { context, page, errors } = await profile(dir);
  try {
    await loadTiny(page);
    const logitDiff = JSON.parse(example('ioi-zero-ablation-heads'));
    const first = await runSpec(page, JSON.stringify({ ...logitDiff, title: 'heads by logit difference' }));
    const before = (await values(page, 'ablate.zero_head_z')).map(Number);
    await page.waitForSelector(`#history-list li[data-run-id="${first}"]`);
    await runSpec(page, JSON.stringify({ ...logitDiff, title: 'heads by probability', metric: 'answer_prob' }));
    const after = (await values(page, 'ablate.zero_head_z')).map(Number);
    // The run on screen offers the other; the difference is this run minus it, cell by cell.
    await page.waitForSelector(`#compare-with option[value="${first}"]`, { state: 'attached' });
    await page.selectOption('#compare-with', first);
    const difference = 'ablate.zero_head_z \u2212 heads by logit difference';
    await page.waitForSelector(`.compared table[data-grid="${difference}"]`);
    const drawn = (await values(page, difference)).map(Number);
    assert.equal(drawn.length, before.length);
    drawn.forEach((d, i) => assert.ok(Math.abs(d - (after[i] - before[i])) < 1e-5, `cell ${i}: ${d} vs ${after[i] - before[i]}`));
    assert.match(await page.textContent('.compared .figure-title'), /this run minus \u201cheads by logit difference\u201d/);
    await page.selectOption('#compare-as', 'side');
    const beside = 'ablate.zero_head_z in heads by logit difference';
    await page.waitForSelector(`.compared table[data-grid="${beside}"]`);
    assert.deepEqual((await values(page, beside)).map(Number), before);
    // Only runs with the same grid at the same shape are offered.
    const offered = await page.$$eval('#compare-with option', (os) => os.map((o) => o.value).filter(Boolean));
    assert.deepEqual(offered, [first]);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('export, clear, import restores byte for byte; a malformed import and a full quota change nothing', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'patchbay-profile-'));
  const { context, page, errors } = await profile(dir);
  try {
    await loadTiny(page);
    await runSpec(page, example('ioi-zero-ablation-heads'));
    const id = await runSpec(page, example('ioi-attribution-patching'));
    // The attribution scatter: one point per head, and Pearson r as the run computed it.
    const pearson = Number(await page.getAttribute('[data-metric="pearson.z"]', 'data-value'));
    assert.equal(Number(await page.getAttribute('figure[data-scatter=z]', 'data-pearson')), pearson);
    assert.equal(await page.locator('figure[data-scatter=z] [data-series=gradient] circle[data-x]').count(), 8);
    const scatter = await download(page, () => page.click('figure[data-scatter=z] [data-export=svg]'));
    assert.equal((scatter.bytes.toString().match(/<circle [^>]*data-x/g) ?? []).length, 8);

    // The run as a TransformerLens script (ci/interop runs such scripts against patchbay run).
    const script = await download(page, () => page.click('#export-python'));
    assert.match(script.name, /^[a-z0-9_]+\.py$/);
    assert.match(script.bytes.toString(), /TransformerBridge\.boot_transformers\(/);
    assert.match(script.bytes.toString(), /pip install 'transformer-lens>=4\.3,<5'/);
    assert.match(script.bytes.toString(), /\("z", "attn\.hook_z", \(0, 1, 3\), \["layer", "head"\], "attn_head_out_all_pos"\)/);
    // TransformerLens 3.x, for environments pinned to it.
    const pinned = await download(page, () => page.click('#export-python-tl3'));
    assert.match(pinned.name, /_transformer_lens_3\.py$/);
    assert.match(pinned.bytes.toString(), /from transformer_lens import HookedTransformer/);

    await page.click('.figure-list button[data-show-grid="patch.resid_pre"]');
    // The figure's downloads are in one menu.
    await page.click('figure[data-figure="patch.resid_pre"] .downloads > summary');
    const csv = await download(page, () => page.click('figure[data-figure="patch.resid_pre"] [data-export=csv]'));
    assert.equal(csv.name, 'patch-resid-pre.csv');
    const lines = csv.bytes.toString().trim().split('\n');
    assert.equal(lines[0], 'layer,pos,value');
    assert.equal(lines.length, 1 + (await values(page, 'patch.resid_pre')).length);
    assert.equal(lines[1].split(',')[2], (await values(page, 'patch.resid_pre'))[0]);
    const svg = await download(page, () => page.click('figure[data-figure="patch.resid_pre"] [data-export=svg]'));
    assert.match(svg.bytes.toString(), /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const png = await download(page, () => page.click('figure[data-figure="patch.resid_pre"] [data-export=png]'));
    assert.deepEqual([...png.bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

    await page.waitForFunction(() => document.querySelectorAll('#history-list li').length === 2);
    const exported = await download(page, () => page.click('#export-history'));
    const history = JSON.parse(exported.bytes);
    assert.equal(history.format, 'patchbay-history');
    assert.equal(history.runs.length, 2);

    page.once('dialog', (dialog) => dialog.accept());
    await page.click('#delete-history');
    await page.waitForFunction(() => document.querySelectorAll('#history-list li').length === 0);

    const file = path.join(dir, 'export.json');
    fs.writeFileSync(file, exported.bytes);
    await page.setInputFiles('#import-history', file);
    await page.waitForFunction(() => document.querySelector('#history-message')?.textContent.includes('imported 2 runs'));
    const again = await download(page, () => page.click('#export-history'));
    assert.ok(again.bytes.equals(exported.bytes), 'export → clear → import → export is byte for byte');

    const hostile = JSON.parse(exported.bytes);
    hostile.runs[0].result.grids['patch.resid_pre'] = { axes: ['layer'], shape: [1000000000], values: [1] };
    hostile.runs[1].id = 'new-run-that-must-not-appear';
    fs.writeFileSync(file, JSON.stringify(hostile));
    await page.setInputFiles('#import-history', file);
    await page.waitForSelector('#history-error');
    assert.match(await page.textContent('#history-error'), /cannot import: at runs\[0\]\.result\.grids\.patch\.resid_pre: shape \[1000000000\] does not match its 1 values/);
    fs.writeFileSync(file, '{"format": "patchbay-history", "version": 1, "runs": [');
    await page.setInputFiles('#import-history', file);
    await page.waitForFunction(() => document.querySelector('#history-error')?.textContent.includes('not JSON'));
    assert.equal((await listed(page)).length, 2, 'nothing was imported');

    // The browser's quota is full: the run is shown, the error says so, the history is intact.
    await page.evaluate(() => {
      window.__put = IDBObjectStore.prototype.put;
      IDBObjectStore.prototype.put = () => { throw new DOMException('The quota has been exceeded.', 'QuotaExceededError'); };
    });
    const unsaved = await runSpec(page, example('ioi-zero-ablation-mlp'));
    await page.waitForFunction(() => document.querySelector('#history-error')?.textContent.includes('storage for this site is full'));
    assert.match(await page.textContent('#history-error'), /is shown but was not saved: the browser's storage for this site is full \(QuotaExceededError\)/);
    assert.equal(await page.getAttribute('#experiment-result', 'data-run-id'), unsaved);
    await page.evaluate(() => { IDBObjectStore.prototype.put = window.__put; });
    await page.reload();
    await page.waitForSelector(`li[data-run-id="${id}"]`);
    assert.equal((await listed(page)).length, 2);
    const stored = await download(page, () => page.click('#export-history'));
    assert.ok(stored.bytes.equals(exported.bytes), 'what was stored before is unchanged');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('a share link recomputes the same grid in a fresh profile; a damaged link says so', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'patchbay-profile-'));
  const { context, page } = await profile(dir);
  let link;
  let grid;
  try {
    await loadTiny(page);
    await runSpec(page, example('ioi-activation-patching'));
    grid = await values(page, 'patch.resid_pre');
    await page.click('#share-run');
    link = await page.inputValue('#share-link');
  } finally {
    await context.close();
  }
  assert.match(link, /#model=http.*&spec=[A-Za-z0-9_-]+$/);
  assert.ok(link.startsWith(`${server.app}#`), `the link points at the app under its public URL: ${link}`);
  assert.ok(link.length < 1500, `a compact link (${link.length} characters)`);

  const browser = await chromium.launch({ executablePath, headless: true, args });
  try {
    const fresh = await browser.newPage();
    const errors = [];
    fresh.on('pageerror', (e) => errors.push(e.message));
    await fresh.goto(link);
    await fresh.waitForSelector('#experiment-result', { timeout: 300_000 });
    assert.deepEqual(await values(fresh, 'patch.resid_pre'), grid);

    await fresh.goto(`${link.slice(0, -20)}`);
    await fresh.reload();
    await fresh.waitForSelector('#share-error');
    assert.match(await fresh.textContent('#share-error'), /the link's experiment is damaged .*cut short/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('the example embed page shows two live experiments; the page contacts no host but its own', async () => {
  const browser = await chromium.launch({ executablePath, headless: true, args });
  try {
    const page = await browser.newPage();
    const hosts = new Set();
    page.on('request', (r) => hosts.add(new URL(r.url()).origin));
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.app}static/embed-example.html?model=/models/tiny-gpt2/`);
    const frames = page.frameLocator('iframe');
    for (const index of [0, 1]) {
      await frames.nth(index).locator('#experiment-result').waitFor({ timeout: 300_000 });
    }
    assert.ok(await frames.nth(0).locator('table[data-grid="patch.resid_pre"]').count() > 0);
    assert.ok(await frames.nth(1).locator('table[data-grid="lens.accumulated_resid_ln_cached_logit_diff"]').count() > 0);
    assert.equal(await frames.nth(0).locator('#spec-text').count(), 0, 'minimal chrome');
    await page.waitForFunction(() => [...document.querySelectorAll('iframe')].every((f) => f.getBoundingClientRect().height > 800), null, { timeout: 30_000 });
    await page.screenshot({ path: path.join(screenshots, 'embed-example.png'), fullPage: true });

    const app = page.frames().find((f) => f.url().includes('?embed'));
    const blocked = await app.evaluate(() => new Promise((resolve) => {
      document.addEventListener('securitypolicyviolation', (e) => resolve(e.blockedURI), { once: true });
      fetch('https://example.com/collect').catch(() => {});
    }));
    assert.match(blocked, /^https:\/\/example\.com/);
    const policy = await app.evaluate(() => document.querySelector('meta[http-equiv=Content-Security-Policy]').content);
    assert.match(policy, /connect-src 'self' https:\/\/huggingface\.co /);
    assert.deepEqual([...hosts], [server.base], 'no other host was contacted');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('offline: the second visit opens the app and the cached model with the network gone; no IndexedDB is reported', async () => {
  const own = await startServer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'patchbay-profile-'));
  const { context, page, errors } = await profile(dir, own);
  try {
    await loadTiny(page, own.base);
    await page.waitForSelector('html[data-offline-ready=true]', { timeout: 60_000 });
    own.server.closeAllConnections();
    await new Promise((resolve) => own.server.close(resolve));

    await page.reload();
    await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
    await loadTiny(page, own.base);
    assert.match(await page.textContent('#load-status'), /from the browser cache/);
    await runSpec(page, example('ioi-zero-ablation-heads'));
    assert.equal((await values(page, 'ablate.zero_head_z')).length, 8);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    // Closed above when the test gets that far; a server left listening keeps the file's
    // process (and CI) waiting forever after a failure.
    own.server.closeAllConnections();
    own.server.close();
  }

  const browser = await chromium.launch({ executablePath, headless: true, args });
  try {
    const page = await browser.newPage();
    await page.addInitScript(() => Object.defineProperty(window, 'indexedDB', { value: undefined }));
    await page.goto(server.app);
    await page.waitForSelector('#history-unavailable');
    assert.match(await page.textContent('#history-unavailable'), /this browser keeps no history here .*export them to keep them/);
    await loadTiny(page);
    await runSpec(page, example('ioi-zero-ablation-heads'));
  } finally {
    await browser.close();
  }
});
