// SAE features in the browser, against SAELens (tests/sae/refs): an SAE loaded beside the tiny
// model from a folder URL, from a hub repository's folder (size and sha256 checked) and from the
// user's files; the Features view's top features, a followed feature's activations, feature
// search, Neuronpedia labels and a clamped generation, on WebGPU (SwiftShader) and the CPU; the
// features as activation patching targets, built in the experiment form.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, readTensor, saeRefs, repo } from './serve.mjs';
import { loadTiny } from './page.mjs';
import './views.mjs';

const common = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const browsers = {
  webgpu: [...common, '--enable-unsafe-webgpu', '--ignore-gpu-blocklist', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-angle=swiftshader'],
  cpu: [...common, '--disable-gpu', '--disable-features=WebGPU'],
};
const oracle = JSON.parse(fs.readFileSync(path.join(saeRefs, 'sae.json')));

let server;
before(async () => {
  server = await startServer();
});
after(() => server.server.close());

async function open(kind, query = '') {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: browsers[kind] });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.app}${query}`);
  await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
  return { browser, page, errors };
}

async function loadSae(page, source, name) {
  await page.fill('#sae-source', source);
  await page.click('#sae-load');
  await page.waitForSelector(`#sae-loaded[data-id="${source}"]`, { timeout: 60_000 });
  assert.equal(await page.getAttribute('#sae-loaded', 'data-hook'), oracle.saes[name].hook_name);
  assert.equal(await page.getAttribute('#sae-loaded', 'data-d-sae'), '256');
}

async function showFeatures(page, prompt) {
  await page.fill('#sae-prompt', prompt);
  const before = await page.$eval('#sae-summary', (e) => e.textContent).catch(() => '');
  await page.click('#sae-run');
  await page.waitForFunction((b) => { const s = document.querySelector('#sae-summary'); return s && s.textContent !== b && !document.querySelector('#sae-run').disabled; }, before, { timeout: 120_000 });
}

async function follow(page, feature) {
  await page.fill('#sae-feature-number', String(feature));
  await page.click('#sae-follow');
  await page.waitForSelector(`#sae-feature[data-feature="${feature}"]`, { timeout: 120_000 });
}

/** Top features, a followed feature's activations and a clamped generation equal SAELens's. */
async function checkSae(page, name) {
  const expected = oracle.saes[name];
  await showFeatures(page, oracle.prompt);
  assert.match(await page.textContent('#sae-summary'), new RegExp(`explained ${expected.fve.toFixed(3)} `));
  const last = oracle.prompt_ids.length - 1;
  await page.click(`.sae-token[data-pos="${last}"]`);
  const listed = await page.$$eval('#sae-token-features .sae-feature-pick', (b) => b.map((e) => Number(e.dataset.feature)));
  assert.deepEqual(listed, expected.top_ids[last]);

  // Following a feature: each token's activation, SAELens's column.
  const acts = readTensor(path.join(saeRefs, 'sae.safetensors'), `${name}.acts`);
  const feature = expected.top_ids[last][0];
  await follow(page, feature);
  const shown = await page.$$eval('.sae-token', (t) => t.map((e) => Number(e.dataset.activation)));
  const column = shown.map((_, pos) => acts.values[pos * acts.shape[1] + feature]);
  shown.forEach((v, pos) => assert.ok(Math.abs(v - column[pos]) < 1e-4, `${name} feature ${feature} at ${pos}: ${v} vs ${column[pos]}`));
  assert.equal(await page.$$eval('#sae-promoted li', (l) => l.length), 10);

  // Clamped at every position while generating: SAELens's ids (the first ten of 24).
  const gen = expected.generation;
  await showFeatures(page, oracle.generation_prompt);
  await follow(page, gen.feature);
  await page.$eval('#sae-steer', (e, v) => { e.value = v; e.dispatchEvent(new Event('input', { bubbles: true })); }, String(gen.clamp.value));
  assert.equal(await page.textContent('#sae-steer-value'), gen.clamp.value.toFixed(1));
  await page.click('#sae-generate');
  await page.waitForSelector('#sae-continuation[data-ids*=","]', { timeout: 120_000 });
  const ids = (await page.getAttribute('#sae-continuation', 'data-ids')).split(',').map(Number);
  assert.deepEqual(ids.slice(0, gen.clamp.new_ids.length), gen.clamp.new_ids, `${name}: clamped generation`);
}

/** The SAE's features as activation patching targets, built in the experiment form (no other
 * target, the 6 that change most): each feature and the error term patched at each position
 * equal SAELens's patches (`patching` in sae.json). */
async function patchFeatures(page, id, name) {
  const expected = oracle.saes[name].patching;
  const spec = JSON.parse(fs.readFileSync(path.join(repo, 'tests/specs/sae-patching-tiny.json'), 'utf8'));
  await page.click('#patching-form summary');
  await page.selectOption('#form-kind', 'activation_patching');
  await page.fill('#form-clean', spec.prompts.clean.join('\n'));
  await page.fill('#form-corrupted', spec.prompts.corrupted.join('\n'));
  await page.fill('#form-answers', spec.prompts.answers.map(([a, b]) => `${a.trim()} | ${b.trim()}`).join('\n'));
  for (const box of await page.$$('#patching-form [data-target]')) await box.setChecked(false);
  assert.match(await page.textContent('#form-problems'), /choose at least one target, or an SAE's features/);
  await page.fill('#form-patch-sae', id);
  await page.fill('#form-patch-sae-top', String(expected.features.length));
  await page.click('#form-write');
  const written = JSON.parse(await page.inputValue('#spec-text'));
  assert.deepEqual(written.experiment.activation_patching.features, { sae: { id }, top: expected.features.length });
  const previous = await page.$eval('#experiment-result', (e) => e.dataset.runId).catch(() => null);
  await page.click('#run-experiment');
  await page.waitForFunction((before) => {
    const run = document.querySelector('#experiment-result')?.dataset.runId;
    return run && run !== before && !document.querySelector('#run-experiment').disabled;
  }, previous, { timeout: 300_000 });
  const values = async (grid) => page.$$eval(`table[data-grid="${grid}"] td[data-value]`, (cells) => cells.map((td) => Number(td.dataset.value)));
  for (const [grid, want] of [['sae_patch.features', expected.patch.flat()], ['sae_patch.error', expected.patch_error]]) {
    const shown = await values(grid);
    assert.equal(shown.length, want.length, grid);
    shown.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-4, `${name} ${grid}[${i}]: ${v} vs SAELens's ${want[i]}`));
  }
  assert.deepEqual(await values('sae_patch.ids'), expected.features);
}

test('SAE features on WebGPU (SwiftShader) match SAELens: from a folder URL, then the user\'s files', async () => {
  const { browser, page, errors } = await open('webgpu');
  try {
    assert.equal(await page.getAttribute('#device', 'data-backend'), 'wgpu');
    await loadTiny(page, server.base);
    await loadSae(page, `${server.base}/saes/standard/`, 'standard');
    await checkSae(page, 'standard');

    // Feature search by token, and Neuronpedia labels from a file the user has.
    await showFeatures(page, oracle.prompt);
    await page.fill('#sae-search', 'John');
    await page.waitForSelector('#sae-search-results li');
    const found = await page.$$eval('#sae-search-results .sae-feature-pick', (b) => b.map((e) => Number(e.dataset.feature)));
    const johns = oracle.prompt_ids.map((id, pos) => (id === 1757 ? pos : -1)).filter((p) => p >= 0);
    const expected = new Set(johns.flatMap((pos) => oracle.saes.standard.top_ids[pos]));
    assert.ok(found.length > 0 && found.every((f) => expected.has(f)), `${found} ⊆ ${[...expected]}`);
    const labels = [{ modelId: 'tiny', layer: '1-res', index: String(found[0]), description: 'fires on John' }];
    await page.setInputFiles('#sae-labels', { name: 'explanations.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(labels)) });
    await page.waitForFunction(() => /1 labels from explanations.json/.test(document.querySelector('#sae-labels-note').textContent));
    assert.match(await page.textContent('#sae-search-results'), /fires on John/);

    // The top-k SAE from the user's files, under the id typed.
    await page.fill('#sae-source', 'my-topk');
    const folder = path.join(saeRefs, 'topk');
    await page.setInputFiles('#sae-files', ['cfg.json', 'sae_weights.safetensors'].map((f) => path.join(folder, f)));
    await page.waitForSelector('#sae-loaded[data-id="my-topk"]', { timeout: 60_000 });
    await checkSae(page, 'topk');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('SAE features on the CPU fallback: a hub folder checked against its listing, and what a bad SAE is told', async () => {
  const { browser, page, errors } = await open('cpu', `?hub=${encodeURIComponent(server.base)}`);
  try {
    assert.equal(await page.getAttribute('#device', 'data-backend'), 'cpu');
    await loadTiny(page, server.base);
    await loadSae(page, 'test/saes/jumprelu', 'jumprelu');
    await checkSae(page, 'jumprelu');

    await patchFeatures(page, 'test/saes/jumprelu', 'jumprelu');

    await page.fill('#sae-source', `${server.base}/saes/missing/`);
    await page.click('#sae-load');
    await page.waitForSelector('#sae-load-error', { timeout: 60_000 });
    assert.match(await page.textContent('#sae-load-error'), /cfg\.json/);
    await page.fill('#sae-source', 'not a place');
    await page.click('#sae-load');
    await page.waitForFunction(() => /neither a hub folder/.test(document.querySelector('#sae-load-error')?.textContent ?? ''));
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
