// Hostile input and resource faults in a real browser (docs/FUZZING.md). Inputs from the fuzz
// corpora that Patchbay rejects go through the UI as a user would bring them — the spec
// editor, a history import, a share link, dropped model files — and the resources Patchbay
// keeps fail under it: a download cut midway, a 0-byte weights file, a Cache API entry cut
// short on disk, IndexedDB records edited by hand. Each ends in a clear error or a clean
// re-download; no panic reaches the page (the panic banner is a failure here); nothing stored
// is lost.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, repo, tiny } from './serve.mjs';
import { openProfile } from './chromium.mjs';
import { runSpec } from './page.mjs';
import './views.mjs'; // acts as a user does: opens the view (and fold) of what it touches

const example = (name) => fs.readFileSync(path.join(repo, `static/experiments/${name}.json`), 'utf8');
const rejected = (kind, name) => path.join(repo, 'tests/e2e/rejected', kind, name);

let server;
before(async () => {
  server = await startServer();
});
after(() => server.server.close());

/** A persistent profile, with every panic (page or worker) and page error collected. */
async function profile() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'patchbay-profile-'));
  const opened = await openProfile(dir, server.app, { acceptDownloads: true });
  opened.dir = dir;
  opened.page.on('console', (m) => {
    if (/panicked/.test(m.text())) opened.errors.push(m.text());
  });
  return opened;
}

/** Fails if the panic banner is up or anything panicked. */
async function noPanic(page, errors) {
  assert.equal(await page.$('#fatal-error'), null, 'no panic banner');
  assert.deepEqual(errors, []);
}

async function loadModel(page, name) {
  await page.fill('#model-url', `${server.base}/models/${name}/`);
  await page.click('#load-model');
}

/** The load error once it says `pattern`, after the loader is free again. */
async function loadError(page, pattern) {
  try {
    await page.waitForFunction((source) => !document.querySelector('#load-model').disabled
      && new RegExp(source).test(document.querySelector('#load-error')?.textContent ?? ''), pattern.source, { timeout: 120_000 });
  } catch (e) {
    const shown = await page.evaluate(() => ['#load-status', '#load-error'].map((s) => document.querySelector(s)?.textContent));
    throw new Error(`no load error matching ${pattern} (status, error: ${JSON.stringify(shown)})`, { cause: e });
  }
  return page.textContent('#load-error');
}

async function exportHistory(page) {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click('#export-history')]);
  return fs.readFileSync(await file.path());
}

/** Drops files on the drop zone, as a user dragging them from a file manager. */
async function drop(page, files) {
  const named = files.map(([name, file]) => ({ name, text: fs.readFileSync(file).toString('base64') }));
  await page.evaluate((named) => {
    const transfer = new DataTransfer();
    for (const { name, text } of named) {
      transfer.items.add(new File([Uint8Array.from(atob(text), (c) => c.charCodeAt(0))], name));
    }
    document.querySelector('#drop-zone').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, named);
}

const weightsRequests = (name) => server.requests.filter((p) => p === `/models/${name}/model.safetensors`).length;

test('inputs the fuzzers rejected, through the spec editor, an import, share links and dropped files: clear errors, no panic, the history unchanged', async () => {
  const { context, page, errors } = await profile();
  try {
    await loadModel(page, 'tiny-gpt2');
    await page.waitForSelector('#prompt-text', { timeout: 120_000 });
    await runSpec(page, example('ioi-zero-ablation-mlp'));
    await page.waitForFunction(() => document.querySelectorAll('#history-list li').length === 1);
    const stored = await exportHistory(page);

    // The spec editor: each rejected spec says where it is wrong (or, past the parser, why it
    // cannot run on this model).
    const specs = {
      '00146c75acfd.json': /at `prompts\.answers\[0\]`: invalid length 0, expected an array of length 2/,
      '003b3034d575.json': /at `experiment\.path_patching\.direction`: unknown variant/,
      '005a30bb79cd.json': /at `prompts\.answers`: 2 answer pairs for 4 prompts/,
      '01461bd0bf.json': /at `prompts\.cle\+n`: unknown field `cle\+n`/,
      '00ac728d726e.json': /head L9H9 does not exist \(2 layers × 4 heads\)/,
    };
    for (const [file, message] of Object.entries(specs)) {
      await page.fill('#spec-text', fs.readFileSync(rejected('spec', file), 'utf8'));
      await page.click('#run-experiment');
      await page.waitForFunction((source) => new RegExp(source).test(document.querySelector('#experiment-error')?.textContent ?? '')
        && !document.querySelector('#run-experiment').disabled, message.source, { timeout: 60_000 });
    }

    // A history import: refused whole, with the path of what is wrong.
    const imports = {
      '00253c2669d4.json': /cannot import: at runs\[0\]\.result\.grids\.ablate\.zero_mlp_out\.va-ues: unknown field `va-ues`/,
      '004e132175e2.json': /cannot import: at runs\[0\]\.result\.provenance: missing field `weights_sha256`/,
      '0060a8ed4de7.json': /cannot import: at runs\[0\]\.result\.spec\.prompts: invalid type: integer `1`/,
    };
    for (const [file, message] of Object.entries(imports)) {
      await page.setInputFiles('#import-history', rejected('history', file));
      await page.waitForFunction((source) => new RegExp(source).test(document.querySelector('#history-error')?.textContent ?? ''), message.source);
    }

    // Dropped model files: a rejected config.json, then each tokenizer.json that once crashed
    // `tokenizers` (fuzz/regressions), with the tiny model's other files.
    const others = (skip) => ['config.json', 'tokenizer.json', 'model.safetensors'].filter((f) => f !== skip).map((f) => [f, path.join(tiny, f)]);
    await drop(page, [['config.json', rejected('config', '01046ce997.json')], ...others('config.json')]);
    assert.match(await loadError(page, /config/), /config\.json/);
    await drop(page, [['config.json', rejected('config', '008fb49c9b.json')], ...others('config.json')]);
    assert.match(await loadError(page, /n_layer/), /config\.json field `n_layer`: missing/);
    for (const file of fs.readdirSync(path.join(repo, 'fuzz/regressions/tokenizer_json'))) {
      await drop(page, [['tokenizer.json', path.join(repo, 'fuzz/regressions/tokenizer_json', file)], ...others('tokenizer.json')]);
      assert.match(await loadError(page, /tokenizer/), /tokenizer/, file);
    }
    await noPanic(page, errors);

    // Share links: each says the link is damaged; the history is still what it was.
    for (const file of fs.readdirSync(path.join(repo, 'tests/e2e/rejected/share'))) {
      const fragment = fs.readFileSync(rejected('share', file), 'latin1');
      await page.goto(`${server.app}#${encodeURI(fragment)}`);
      await page.reload();
      await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
      await page.waitForSelector('#share-error', { timeout: 60_000 });
      assert.match(await page.textContent('#share-error'), /link/, file);
      await noPanic(page, errors);
    }
    await page.goto(server.app);
    await page.waitForFunction(() => document.querySelectorAll('#history-list li').length === 1);
    assert.ok((await exportHistory(page)).equals(stored), 'the history is byte for byte what it was');
    await noPanic(page, errors);
  } finally {
    await context.close();
  }
});

test('resource faults: a download cut midway, a 0-byte weights file, a cache entry cut short on disk, IndexedDB records edited by hand', async () => {
  const { context, page, errors } = await profile();
  try {
    await loadModel(page, 'tiny-gpt2');
    await page.waitForSelector('#prompt-text', { timeout: 120_000 });
    const id = await runSpec(page, example('ioi-zero-ablation-mlp'));
    await page.waitForFunction(() => document.querySelectorAll('#history-list li').length === 1);
    const stored = await exportHistory(page);

    // The server closes the connection halfway through the weights: said so, and not kept.
    const interrupted = weightsRequests('interrupted');
    await loadModel(page, 'interrupted');
    const cut = await loadError(page, /model\.safetensors/);
    assert.match(cut, /model\.safetensors (ended after \d+ of \d+ bytes: the download was cut short|failed after \d+ bytes)/);
    await loadModel(page, 'interrupted');
    await loadError(page, /model\.safetensors/);
    assert.equal(weightsRequests('interrupted'), interrupted + 2, 'a cut download is not served from the cache');

    // A 0-byte weights file.
    await loadModel(page, 'empty');
    assert.match(await loadError(page, /empty/), /the weights are not a valid safetensors file \(the file is empty \(0 bytes\): a download or copy that did not finish\?\)/);
    await noPanic(page, errors);

    // The cached weights cut short on disk (as a crash mid-write or a damaged profile leaves
    // them): the next load notices, downloads them again, and keeps the good copy.
    const weightsUrl = `${server.base}/models/tiny-gpt2/model.safetensors`;
    await page.evaluate(async (url) => {
      const cache = await caches.open('patchbay-models-v1');
      const response = await cache.match(url);
      if (!response) throw new Error('the weights are not in the cache');
      const bytes = await response.arrayBuffer();
      await cache.put(url, new Response(bytes.slice(0, bytes.byteLength >> 1), { headers: response.headers }));
    }, weightsUrl);
    await page.reload();
    await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
    const downloads = weightsRequests('tiny-gpt2');
    await loadModel(page, 'tiny-gpt2');
    await page.waitForSelector('#prompt-text', { timeout: 120_000 });
    assert.match(await page.textContent('#load-status'), /the browser cache's copy did not load \(the cached copy could not be read: .+\) and was downloaded again/);
    assert.equal(weightsRequests('tiny-gpt2'), downloads + 1);
    await page.reload();
    await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
    await loadModel(page, 'tiny-gpt2');
    await page.waitForFunction(() => document.querySelector('#load-status')?.textContent.includes('from the browser cache'), null, { timeout: 120_000 });
    assert.equal(weightsRequests('tiny-gpt2'), downloads + 1, 'the downloaded copy was kept');

    // IndexedDB records edited by hand: listed as damaged with the reason, kept as they are,
    // never drawn; the good run opens and exports as before.
    await page.evaluate(async (id) => {
      const db = await new Promise((resolve, reject) => {
        const open = indexedDB.open('patchbay');
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const store = () => db.transaction('runs', 'readwrite').objectStore('runs');
      const good = await new Promise((resolve) => { const get = store().get(id); get.onsuccess = () => resolve(get.result); });
      const run = JSON.parse(good.record);
      const grid = Object.values(run.result.grids)[0];
      const edited = [
        { id: 'edited-text', schema: 1, record: 'this is not a run' },
        { id: 'edited-shape', schema: 1, record: JSON.stringify({ ...run, id: 'edited-shape', result: { ...run.result, grids: { ...run.result.grids, [Object.keys(run.result.grids)[0]]: { ...grid, shape: [grid.values.length + 5] } } } }) },
        { id: 'edited-key', schema: 1, record: JSON.stringify({ ...run, id: 'another-id' }) },
        { id: 'edited-schema', schema: 'one', record: 7 },
      ];
      await new Promise((resolve, reject) => {
        const tx = db.transaction('runs', 'readwrite');
        for (const record of edited) tx.objectStore('runs').put(record);
        tx.oncomplete = resolve;
        tx.onerror = () => reject(tx.error);
      });
      db.close();
    }, id);
    await page.reload();
    await page.waitForFunction(() => document.querySelectorAll('#history-list li').length === 5, null, { timeout: 60_000 });
    const damaged = await page.$$eval('#history-list li.unreadable', (lis) => Object.fromEntries(lis.map((li) => [li.dataset.runId, li.textContent])));
    assert.deepEqual(Object.keys(damaged).sort(), ['edited-key', 'edited-schema', 'edited-shape', 'edited-text']);
    assert.match(damaged['edited-text'], /edited-text: damaged \(expected ident at line 1 column 2\); kept as it is/);
    assert.match(damaged['edited-shape'], /damaged \(at `result\.grids\..*`: shape \[\d+\] does not match its \d+ values\)/);
    assert.match(damaged['edited-key'], /damaged \(its run id "another-id" is not its key\)/);
    assert.match(damaged['edited-schema'], /record schema 0 is unknown; kept as it is/);
    assert.ok((await exportHistory(page)).equals(stored), 'the good run exports as before');
    const kept = await page.evaluate(async () => {
      const db = await new Promise((resolve) => { const open = indexedDB.open('patchbay'); open.onsuccess = () => resolve(open.result); });
      const all = await new Promise((resolve) => { const get = db.transaction('runs').objectStore('runs').getAll(); get.onsuccess = () => resolve(get.result); });
      db.close();
      return all.map((r) => r.id).sort();
    });
    assert.deepEqual(kept, ['edited-key', 'edited-schema', 'edited-shape', 'edited-text', id].sort(), 'nothing was deleted or rewritten');
    await noPanic(page, errors);
  } finally {
    await context.close();
  }
});
