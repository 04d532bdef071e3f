// The browser app in a real browser: Debian's headless Chromium driven by playwright-core,
// WebGPU through SwiftShader, and the CPU fallback in a browser without WebGPU. The tiny GPT-2
// of ../shared/refs is served as a local model and checked against the oracle.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, readTensor, tiny, repo, wide } from './serve.mjs';
import './views.mjs'; // acts as a user does: opens the view (and fold) of what it touches

const common = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const browsers = {
  webgpu: [...common, '--enable-unsafe-webgpu', '--ignore-gpu-blocklist', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-angle=swiftshader'],
  cpu: [...common, '--disable-gpu', '--disable-features=WebGPU'],
};
const screenshots = path.join(repo, 'tests/e2e/screenshots');
const reference = JSON.parse(fs.readFileSync(path.join(tiny, 'reference.json')));
const logits = readTensor(path.join(tiny, 'reference.safetensors'), 'logits');
const logprobs = readTensor(path.join(tiny, 'reference.safetensors'), 'logprob_next_token');

let server;
before(async () => {
  server = await startServer();
  fs.mkdirSync(screenshots, { recursive: true });
});
after(() => server.server.close());

async function open(kind) {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args: browsers[kind] });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.app);
  await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
  return { browser, page, errors };
}

async function loadModel(page, name) {
  await page.fill('#model-url', `${server.base}/models/${name}/`);
  await page.click('#load-model');
}

/** The prompt panel against the oracle: token ids, per-token loss, top-10 next tokens. */
async function checkPrompt(page) {
  await page.waitForSelector('#prompt-text', { timeout: 120_000 });
  assert.match(await page.textContent('#load-status'), /loaded .* \(2 layers, 4 heads, d_model 64\)/);
  await page.click('#run-prompt');
  await page.waitForFunction(() => document.querySelectorAll('#top-k tbody tr').length === 10, null, { timeout: 180_000 });

  const tokens = await page.$$eval('#token-strip .token', (spans) => spans.map((s) => ({ id: Number(s.dataset.id), loss: s.dataset.loss })));
  assert.deepEqual(tokens.map((t) => t.id), reference.clean_ids[0]);
  const [, pos] = logprobs.shape;
  tokens.slice(1).forEach((t, i) => {
    assert.ok(Math.abs(Number(t.loss) + logprobs.values[i]) < 1e-4, `loss at ${i + 1}: ${t.loss} vs ${-logprobs.values[i]}`);
  });
  assert.equal(tokens.length, pos + 1);

  const vocab = logits.shape[2];
  const row = logits.values.subarray((logits.shape[1] - 1) * vocab, logits.shape[1] * vocab); // prompt 0, last position
  const expected = [...row.keys()].sort((a, b) => row[b] - row[a]).slice(0, 10);
  const rows = await page.$$eval('#top-k tbody tr', (trs) => trs.map((tr) => ({ id: Number(tr.dataset.id), logit: Number(tr.dataset.logit), prob: Number(tr.dataset.prob) })));
  assert.deepEqual(rows.map((r) => r.id), expected);
  const max = Math.max(...row);
  const sum = row.reduce((s, l) => s + Math.exp(l - max), 0);
  rows.forEach((r) => {
    assert.ok(Math.abs(r.logit - row[r.id]) < 1e-4, `logit of ${r.id}: ${r.logit} vs ${row[r.id]}`);
    assert.ok(Math.abs(r.prob - Math.exp(row[r.id] - max) / sum) < 1e-5, `probability of ${r.id}`);
  });

  // Attention patterns: every head of every layer equals the oracle's hook_pattern (the layers
  // are drawn one after another).
  await page.waitForSelector('#attention[data-layers-shown="2"]');
  for (const layer of [0, 1]) {
    const expected = readTensor(path.join(tiny, 'reference.safetensors'), `cache.blocks.${layer}.attn.hook_pattern`);
    const values = await page.$$eval(`table.pattern[data-layer="${layer}"] td`, (tds) => tds.map((td) => Number(td.dataset.value)));
    assert.equal(values.length, expected.values.length);
    values.forEach((v, i) => assert.ok(Math.abs(v - expected.values[i]) < 1e-5, `pattern L${layer}[${i}]: ${v} vs ${expected.values[i]}`));
  }
  assert.match(await page.getAttribute('table.pattern[data-layer="1"][data-head="2"] td[data-q="14"][data-k="4"]', 'title'), /L1H2: " to" attends to " Mary": /);

  // A head chosen from the thumbnails is drawn large with its tokens on both axes; the arrow
  // keys walk its cells and the cell in focus is read out.
  await page.click('table.pattern[data-layer="1"][data-head="2"] .pick-head');
  await page.waitForSelector('#pattern-focus[data-layer="1"][data-head="2"]');
  assert.equal(await page.getAttribute('table.pattern[data-layer="1"][data-head="2"] .pick-head', 'aria-pressed'), 'true');
  const layer1 = readTensor(path.join(tiny, 'reference.safetensors'), 'cache.blocks.1.attn.hook_pattern').values;
  const focused = await page.$$eval('#pattern-focus td', (tds) => tds.map((td) => Number(td.dataset.value)));
  const head2 = layer1.slice(2 * 15 * 15, 3 * 15 * 15);
  assert.equal(focused.length, head2.length);
  focused.forEach((v, i) => assert.ok(Math.abs(v - head2[i]) < 1e-5, `focused L1H2[${i}]`));
  const columns = await page.$$eval('#pattern-focus thead th[scope=col]', (ths) => ths.map((th) => th.textContent));
  const queries = await page.$$eval('#pattern-focus tbody th', (ths) => ths.map((th) => th.textContent));
  assert.deepEqual(columns, queries, 'the same tokens down and across');
  assert.equal(queries[14], ' to');
  await page.focus('#pattern-focus td[data-row="0"][data-col="0"]');
  for (let i = 0; i < 14; i++) await page.keyboard.press('ArrowDown');
  for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowRight');
  assert.deepEqual(await page.evaluate(() => [document.activeElement.dataset.row, document.activeElement.dataset.col]), ['14', '4']);
  assert.match(await page.textContent('#pattern-focus .readout'), /L1H2: " to" attends to " Mary": /);
}

const steeringSpec = fs.readFileSync(path.join(repo, 'tests/specs/steering-oracle.json'), 'utf8');

/** Values of a drawn grid, in row-major order (3-D grids: one table per leading index). */
async function gridValues(page, name) {
  return page.$$eval(`table[data-grid="${name}"]`, (tables) =>
    tables.flatMap((t) => [...t.querySelectorAll('td[data-value]')].map((td) => Number(td.dataset.value))));
}

/** Runs the spec in the editor, the IOI patching example: a partly filled heatmap is shown while
 * it runs (unless `partly` is false), and its heatmaps and clean metric equal the oracle. */
async function checkPatching(page, { partly = true, timeout = 300_000 } = {}) {
  // The heatmap fills as the sweep runs: cells computed so far have values, the rest NaN.
  await page.evaluate(() => {
    window.partial = [];
    new MutationObserver(() => {
      const cells = [...document.querySelectorAll('table[data-grid="live"] td[data-value]')].map((td) => td.dataset.value);
      if (cells.length) window.partial.push([cells.filter((v) => v === 'NaN').length, cells.length]);
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
  const previous = await page.$eval('#experiment-result', (e) => e.dataset.runId).catch(() => null);
  await page.click('#run-experiment');
  await page.waitForFunction((before) => {
    const id = document.querySelector('#experiment-result')?.dataset.runId;
    return id && id !== before;
  }, previous, { timeout });
  const partial = await page.evaluate(() => window.partial);
  if (partly) assert.ok(partial.some(([nan, all]) => nan > 0 && nan < all), `a partly filled heatmap was shown: ${JSON.stringify(partial.slice(0, 5))}`);
  for (const name of ['resid_pre', 'attn_out', 'attn_head_out_all_pos', 'attn_head_out_by_pos']) {
    const expected = readTensor(path.join(tiny, 'reference.safetensors'), `patch.batch.${name}`);
    const values = await gridValues(page, `patch.${name}`);
    assert.equal(values.length, expected.values.length, name);
    values.forEach((v, i) => assert.ok(Math.abs(v - expected.values[i]) < 1e-4, `patch.${name}[${i}]: ${v} vs ${expected.values[i]}`));
  }
  const clean = Number(await page.getAttribute('[data-metric=clean]', 'data-value'));
  assert.ok(Math.abs(clean - reference.metric.clean) < 1e-4);
}

/** The experiment panel: the IOI patching example's heatmaps and the steered generation equal the oracle. */
async function checkExperiments(page, shots, patching = {}) {
  await checkPatching(page, patching);
  const title = await page.getAttribute('table[data-grid="patch.resid_pre"] td[data-row="1"][data-col="10"]', 'title');
  assert.match(title, /layer L1, pos 10 " John": /, 'cells name their layer and token');
  // A heatmap per layer: each cell names its layer too, not only its own row and column.
  const byPos = await page.getAttribute('table[data-grid="patch.attn_head_out_by_pos"][data-offset="60"] td[data-row="14"][data-col="0"]', 'title');
  assert.match(byPos, /^layer L1, pos 14 " to", head H0: /);
  await page.screenshot({ path: path.join(screenshots, `${shots}-patching.png`), fullPage: true });

  await page.fill('#spec-text', steeringSpec);
  await page.click('#run-experiment');
  await page.waitForSelector('[data-generation=steered]', { timeout: 300_000 });
  const ids = (await page.getAttribute('[data-generation=steered]', 'data-ids')).split(',').map(Number);
  assert.deepEqual(ids, reference.steering.steered_new_ids);
  assert.equal(await page.getAttribute('[data-generation=steered]', 'data-text'), reference.steering.steered_text);
}

/** The generation panel's beam search and GeDi (its model loaded beside the first) equal the oracle. */
async function checkDecodingControls(page, shots) {
  const oracle = JSON.parse(fs.readFileSync(path.join(tiny, 'gedi.json')));
  const ids = async () => (await page.getAttribute('[data-continuation=default]', 'data-ids')).split(',').map(Number);
  const generate = async (count) => {
    await page.click('#generate');
    await page.waitForFunction((count) => {
      const el = document.querySelector('[data-continuation=default]');
      return el && el.dataset.ids.split(',').filter(Boolean).length === count && !document.querySelector('#generate').disabled;
    }, count, { timeout: 300_000 });
  };
  await page.fill('#generation-prompt', 'The quick brown fox');
  await page.uncheck('#generation-bos');
  await page.uncheck('#generation-stop-at-eos');
  await page.fill('#generation-temperature', '0');
  const beam = oracle.beam[1];
  await page.fill('#generation-max-new-tokens', String(beam.max_new_tokens));
  await page.fill('#generation-num-beams', String(beam.num_beams));
  await page.fill('#generation-no-repeat-ngram', String(beam.no_repeat_ngram_size));
  await generate(beam.new_ids.length);
  assert.deepEqual(await ids(), beam.new_ids);
  const scores = await page.$$eval('.beams[data-continuation=default] li', (items) => items.map((li) => Number(li.dataset.score)));
  assert.equal(scores.length, beam.num_beams);
  assert.ok(Math.abs(scores[0] - beam.sequence_score) < 1e-4, `best beam ${scores[0]} vs ${beam.sequence_score}`);

  const guided = oracle.cases[0];
  await page.fill('#generation-num-beams', '1');
  await page.fill('#generation-no-repeat-ngram', '0');
  await page.fill('#generation-max-new-tokens', String(guided.max_new_tokens));
  await page.fill('#generation-gedi-model', `${server.base}/models/tiny-gpt2-gedi/`);
  await page.waitForSelector('.gedi-model[data-state=missing]');
  await page.click('#generation-gedi-load');
  await page.waitForSelector('.gedi-model[data-state=loaded]', { timeout: 120_000 });
  assert.match(await page.textContent('#status-beside'), /GeDi: .*tiny-gpt2-gedi.* \(2 layers × 4 heads\)/);
  for (const [field, value] of [['desired', guided.desired], ['undesired', guided.undesired], ['weight', guided.disc_weight],
    ['filter-p', guided.filter_p], ['target-p', guided.target_p], ['class-bias', guided.class_bias]]) {
    await page.fill(`#generation-gedi-${field}`, String(value));
  }
  await generate(guided.new_ids.length);
  assert.deepEqual(await ids(), guided.new_ids);
  const tokens = await page.$$eval('[data-continuation=default] .token', (spans) => spans.map((s) => ({
    p: Number(s.dataset.pDesired), filtered: Number(s.dataset.filtered), title: s.title, guided: s.classList.contains('guided') })));
  tokens.forEach(({ p, filtered, title, guided: shaded }, i) => {
    const step = guided.steps[i];
    assert.ok(Math.abs(p - Math.exp(step.lp_desired)) < 1e-4, `step ${i}: P(desired) ${p} vs ${Math.exp(step.lp_desired)}`);
    // As in the native test: a token within float32 noise of log(target_p) may fall either way.
    assert.ok(Math.abs(filtered - step.removed) <= 1 + step.removed / 1000, `step ${i}: ${filtered} filtered vs ${step.removed}`);
    assert.ok(shaded && /P\(desired\) [\d.]+%, \d+ tokens filtered out/.test(title), title);
  });
  await page.screenshot({ path: path.join(screenshots, `${shots}-gedi.png`), fullPage: true });
  await page.fill('#generation-gedi-model', '');
}

test('WebGPU (SwiftShader): load the tiny model, tokens, losses and top-k equal the oracle', async () => {
  const { browser, page, errors } = await open('webgpu');
  try {
    assert.equal(await page.getAttribute('#device', 'data-backend'), 'wgpu', 'WebGPU is used when offered');
    await loadModel(page, 'tiny-gpt2');
    await checkPrompt(page);
    await page.screenshot({ path: path.join(screenshots, 'webgpu-prompt.png'), fullPage: true });
    // SwiftShader runs the example's 226 cells (8 prompts each) at 0.1–1 GFLOP/s: 276–330 s on
    // a 2-core machine with another browser test beside it (2026-12-03).
    await checkExperiments(page, 'webgpu', { timeout: 600_000 });
    await checkDecodingControls(page, 'webgpu');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('CPU fallback without WebGPU: a visible notice, and the same numbers', async () => {
  const { browser, page, errors } = await open('cpu');
  try {
    assert.equal(await page.getAttribute('#device', 'data-backend'), 'cpu');
    // Said for people first; the browser's reason folded away beneath.
    assert.match(await page.textContent('#device-notice > p'), /offers no WebGPU, so Patchbay runs the model on the CPU/);
    assert.match(await page.textContent('#device-notice details'), /WebGPU is not available/);
    await loadModel(page, 'tiny-gpt2');
    await checkPrompt(page);
    await page.screenshot({ path: path.join(screenshots, 'cpu-prompt.png'), fullPage: true });
    await checkExperiments(page, 'cpu');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('corrupt weights and a wrong architecture give clear errors, and the app keeps working', async () => {
  const { browser, page, errors } = await open('cpu');
  try {
    await loadModel(page, 'truncated');
    await page.waitForSelector('#load-error', { timeout: 60_000 });
    assert.match(await page.textContent('#load-error'), /weights file is truncated at byte \d+ of \d+, inside tensor `/);
    // Said for people first (what happened, what to do), the precise message folded beneath.
    assert.match(await page.textContent('#load-error > p'), /^The model could not be loaded\. Check the address/);
    await page.screenshot({ path: path.join(screenshots, 'error-truncated.png'), fullPage: true });
    await loadModel(page, 'bert');
    await page.waitForFunction(() => document.querySelector('#load-error')?.textContent.includes('bert'), null, { timeout: 60_000 });
    assert.match(await page.textContent('#load-error'), /describes a `bert` model; Patchbay runs GPT-2/);
    await loadModel(page, 'does-not-exist');
    await page.waitForFunction(() => document.querySelector('#load-error')?.textContent.includes('HTTP 404'), null, { timeout: 60_000 });
    await loadModel(page, 'tiny-gpt2');
    await checkPrompt(page);

    // The patching form shows both tokenisations aligned and refuses unequal lengths.
    await page.click('#patching-form summary');
    const corrupted = await page.inputValue('#form-corrupted');
    assert.equal(await page.getAttribute('table.alignment[data-pair="0"]', 'data-equal'), 'true');
    assert.deepEqual(await page.$$eval('table.alignment[data-pair="0"] td.differs', (tds) => tds.map((td) => td.textContent)), ['" John"', '" Mary"']);
    await page.fill('#form-corrupted', corrupted.replace('James gave the ball', 'Jamesy gave the ball'));
    await page.waitForSelector('table.alignment[data-pair="3"][data-equal=false]');
    assert.match(await page.textContent('#form-problems'), /prompt 4: clean has 15 tokens, corrupted 16: patching needs equal lengths/);
    assert.ok(await page.isDisabled('#form-write'));
    await page.fill('#form-corrupted', corrupted);
    await page.click('#form-write');
    const written = JSON.parse(await page.inputValue('#spec-text'));
    const example = JSON.parse(fs.readFileSync(path.join(repo, 'static/experiments/ioi-activation-patching.json'), 'utf8'));
    assert.deepEqual(written.prompts, example.prompts, 'the form writes the prompts and answers it shows');
    assert.deepEqual(written.experiment.activation_patching.targets, example.experiment.activation_patching.targets);

    // A malformed spec names the JSON path; unequal prompt lengths show both tokenisations.
    const spec = JSON.parse(steeringSpec);
    spec.experiment.steering.coef = 1;
    await page.fill('#spec-text', JSON.stringify(spec));
    await page.click('#run-experiment');
    await page.waitForSelector('#experiment-error');
    assert.match(await page.textContent('#experiment-error'), /at `experiment.steering.coef`: unknown field `coef`/);
    assert.match(await page.textContent('#experiment-error > p'), /^The experiment spec has a problem\. Fix the field named below/);
    const ioi = JSON.parse(fs.readFileSync(path.join(repo, 'static/experiments/ioi-activation-patching.json'), 'utf8'));
    ioi.prompts.corrupted[2] = 'When Tom and James went to the park, Jamesy gave the ball to';
    await page.fill('#spec-text', JSON.stringify(ioi));
    await page.click('#run-experiment');
    await page.waitForFunction(() => document.querySelector('#experiment-error')?.textContent.includes('same number of tokens'));
    const message = await page.textContent('#experiment-error');
    assert.match(message, /clean \(15 tokens\)/);
    assert.match(message, /corrupted \(16 tokens\)/);
    await page.screenshot({ path: path.join(screenshots, 'error-unequal-lengths.png'), fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('a reload loads the model from the browser cache; files that failed to load are not kept', async () => {
  const { browser, page, errors } = await open('cpu');
  const count = (file) => server.requests.filter((p) => p === file).length;
  try {
    const weights = '/models/tiny-gpt2/model.safetensors';
    const before = count(weights);
    await loadModel(page, 'tiny-gpt2');
    await page.waitForSelector('#prompt-text', { timeout: 60_000 });
    assert.equal(count(weights), before + 1);
    assert.doesNotMatch(await page.textContent('#load-status'), /from the browser cache/);

    await page.reload();
    await page.waitForSelector('#device[data-state=ready]');
    await loadModel(page, 'tiny-gpt2');
    await page.waitForFunction(() => document.querySelector('#load-status')?.textContent.includes('from the browser cache'), null, { timeout: 60_000 });
    assert.equal(count(weights), before + 1, 'no second download');
    await checkPrompt(page);

    const broken = '/models/truncated/model.safetensors';
    const brokenBefore = count(broken);
    for (let attempt = 1; attempt <= 2; attempt++) {
      await loadModel(page, 'truncated');
      for (let waited = 0; count(broken) < brokenBefore + attempt; waited += 50) {
        assert.ok(waited < 60_000, 'a file that failed is downloaded again, not served from the cache');
        await new Promise((r) => setTimeout(r, 50));
      }
      await page.waitForFunction(() => !document.querySelector('#load-model').disabled && document.querySelector('#load-error')?.textContent.includes('truncated'), null, { timeout: 60_000 });
    }
    assert.equal(count(broken), brokenBefore + 2);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

const ioiExample = JSON.parse(fs.readFileSync(path.join(repo, 'static/experiments/ioi-activation-patching.json'), 'utf8'));
const pathOracle = (name) => readTensor(path.join(tiny, 'path.safetensors'), name);

/** The spec editor's text, parsed. */
async function specInEditor(page) {
  return JSON.parse(await page.inputValue('#spec-text'));
}

async function runSpec(page, spec, selector) {
  await page.fill('#spec-text', JSON.stringify(spec, null, 2));
  await page.click('#run-experiment');
  // A grid the answer does not open is in the page, hidden until its figure is chosen.
  await page.waitForSelector(selector, { timeout: 300_000, state: 'attached' });
}

test('path patching equals the oracle; IOI prompts generated in the tab run path patching and edge attribution; RelP draws three-way scatters; bad pairs name their rows', async () => {
  const { browser, page, errors } = await open('cpu');
  try {
    await loadModel(page, 'tiny-gpt2');
    await page.waitForSelector('#prompt-text', { timeout: 120_000 });
    const receivers = { heads: [[1, 0], [1, 1]], input: 'k' };
    const pathSpec = { ...ioiExample, title: 'path patching', experiment: { path_patching: { direction: 'denoising', receivers, max_rows: 16 } } };
    await runSpec(page, pathSpec, 'table[data-grid="path.head_to_receivers.k"]');
    const expected = pathOracle('path.denoising.head_to_receivers.k');
    const values = await gridValues(page, 'path.head_to_receivers.k');
    assert.equal(values.length, expected.values.length);
    values.forEach((v, i) => assert.ok(Math.abs(v - expected.values[i]) < 1e-4, `path[${i}]: ${v} vs ${expected.values[i]}`));
    assert.match(await page.getAttribute('table[data-grid="path.head_to_receivers.k"] td[data-row="0"][data-col="1"]', 'title'), /L0.*H1/);

    // 64 IOI prompts from the dataset form replace the spec's prompts; the rest of it stays.
    await page.click('#dataset-form summary');
    await page.fill('#ioi-n', '64');
    await page.fill('#ioi-seed', '5');
    await page.click('#generate-dataset');
    await page.waitForSelector('#dataset-note', { timeout: 60_000 });
    assert.match(await page.textContent('#dataset-note'), /64 IOI prompts of \d+ tokens/);
    const generated = await specInEditor(page);
    assert.equal(generated.prompts.clean.length, 64);
    assert.equal(generated.prompts.corrupted.length, 64);
    assert.deepEqual(generated.experiment, pathSpec.experiment);
    const firstRun = await page.getAttribute('#experiment-result', 'data-run-id');
    await page.click('#run-experiment');
    await page.waitForFunction((first) => {
      const result = document.querySelector('#experiment-result');
      return result && result.dataset.runId !== first
        && document.querySelectorAll('[data-grid="path.head_to_receivers.k.normalised"] td[data-value]').length === 8;
    }, firstRun, { timeout: 300_000 });
    const tokens = await page.$$eval('table[data-grid="path.head_to_receivers.k"] td', (tds) => tds.length);
    assert.equal(tokens, 8);
    const perPrompt = await page.$$eval('[data-metric]', (items) => items.map((li) => li.dataset.metric));
    assert.ok(['base', 'clean', 'corrupted'].every((m) => perPrompt.includes(m)), perPrompt.join());

    // Edge attribution on the same 64 prompts: the graph and the table of the 12 strongest edges.
    await runSpec(page, { ...generated, title: 'edges', experiment: { edge_attribution_patching: { top: 12 } } }, 'figure.edge-graph');
    assert.equal(await page.getAttribute('figure.edge-graph', 'data-edges'), '12');
    assert.equal(await page.$$eval('figure.edge-graph line.edge', (lines) => lines.length), 12);
    const scores = await page.$$eval('table.edges tbody tr', (rows) => rows.map((r) => Math.abs(Number(r.dataset.score))));
    assert.equal(scores.length, 12);
    scores.forEach((s, i) => assert.ok(Number.isFinite(s) && (i === 0 || s <= scores[i - 1]), 'strongest first'));
    await page.screenshot({ path: path.join(screenshots, 'cpu-edge-attribution.png'), fullPage: true });

    // The other generators write their prompts the same way.
    await page.selectOption('#dataset-kind', 'colored_objects');
    await page.fill('#ioi-n', '8');
    await page.click('#generate-dataset');
    await page.waitForFunction(() => /8 Colored Objects prompts/.test(document.querySelector('#dataset-note')?.textContent ?? ''), null, { timeout: 60_000 });
    const colored = await specInEditor(page);
    assert.equal(colored.prompts.clean.length, 8);
    assert.match(colored.prompts.clean[0], /What color is the \w+\?\nA:$/);

    // RelP beside the gradient and activation patching (the relp-ioi example): both methods'
    // grids equal the RelP oracle, and each target's scatter draws both against the real patch,
    // each with the r the run reports.
    const relpSpec = JSON.parse(fs.readFileSync(path.join(repo, 'static/experiments/ioi-relp.json'), 'utf8'));
    await runSpec(page, relpSpec, 'figure[data-scatter=mlp_out] [data-series=relp]');
    for (const target of relpSpec.experiment.attribution_patching.targets) {
      for (const [grid, oracle] of [[`attrib.${target}`, `attrib.batch.${target}`], [`relp.${target}`, `relp.batch.${target}`]]) {
        const expected = readTensor(path.join(tiny, 'relp.safetensors'), oracle);
        const values = await gridValues(page, grid);
        assert.equal(values.length, expected.values.length, grid);
        values.forEach((v, i) => assert.ok(Math.abs(v - expected.values[i]) < 1e-4, `${grid}[${i}]: ${v} vs ${expected.values[i]}`));
      }
      const figure = `figure[data-scatter=${target}]`;
      const cells = readTensor(path.join(tiny, 'relp.safetensors'), `relp.batch.${target}`).values.length;
      for (const [method, metric] of [['gradient', 'pearson'], ['relp', 'pearson_relp']]) {
        const r = Number(await page.getAttribute(`[data-metric="${metric}.${target}"]`, 'data-value'));
        assert.ok(r >= -1 && r <= 1, `${metric}.${target} = ${r}`);
        assert.equal(Number(await page.getAttribute(`${figure} figcaption [data-method=${method}]`, 'data-pearson')), r);
        assert.equal(await page.locator(`${figure} [data-series=${method}] [data-x]`).count(), cells, `${target}: ${method}'s points`);
      }
    }
    await page.screenshot({ path: path.join(screenshots, 'cpu-relp.png'), fullPage: true });

    // A pasted table with bad rows: each named, the spec untouched.
    const before = await page.inputValue('#spec-text');
    await page.fill('#pairs-text', 'clean,corrupted,correct,incorrect\nWhen Tom and Sid left,When Sid and Tom left, Tom, Sid\nWhen Tom and Sid left,When Sid left, Tom, Sid\nWhen Tom and Sid left,When Sid and Tom left, Tom Hanks, Sid\n');
    await page.click('#use-pairs');
    await page.waitForSelector('#dataset-error', { timeout: 60_000 });
    const problem = await page.textContent('#dataset-error');
    assert.match(problem, /2 rows cannot be used/);
    assert.match(problem, /row 3: .*must align/);
    assert.match(problem, /row 4: .*one token/);
    assert.equal(await page.inputValue('#spec-text'), before);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('generation panel: greedy, repetition penalty and steered continuations equal the oracle', async () => {
  const { browser, page, errors } = await open('cpu');
  const continuation = async (name) => (await page.getAttribute(`[data-continuation=${name}]`, 'data-ids')).split(',').map(Number);
  const generate = async (expectedCount, name = 'default') => {
    await page.click('#generate');
    await page.waitForFunction(({ name, expectedCount }) => {
      const el = document.querySelector(`[data-continuation=${name}]`);
      return el && el.dataset.ids.split(',').filter(Boolean).length === expectedCount && !document.querySelector('#generate').disabled;
    }, { name, expectedCount }, { timeout: 120_000 });
  };
  try {
    await loadModel(page, 'tiny-gpt2');
    await page.waitForSelector('#generation-prompt', { timeout: 60_000 });
    const fox = reference.generation.quick_brown_fox_no_bos;
    await page.fill('#generation-prompt', 'The quick brown fox');
    await page.fill('#generation-max-new-tokens', String(fox.new_ids.length));
    await generate(fox.new_ids.length);
    assert.deepEqual(await continuation('default'), fox.new_ids);
    assert.equal(await page.getAttribute('[data-continuation=default]', 'data-text'), fox.new_text);
    // Each token says how likely it was and what else was: greedy picks the most likely one.
    const tokens = await page.$$eval('[data-continuation=default] .token', (spans) => spans.map((s) => ({ title: s.title, prob: Number(s.dataset.prob), tab: s.tabIndex })));
    assert.equal(tokens.length, fox.new_ids.length);
    for (const { title, prob, tab } of tokens) {
      assert.ok(prob > 0 && prob <= 1, title);
      assert.equal(tab, 0, 'a token is reached from the keyboard');
      const [, own, p, first, q] = title.match(/^(".*?"): ([\d.]+)%; most likely (".*?") ([\d.]+)%/) ?? [];
      assert.ok(own !== undefined && own === first && p === q, `greedy: the token is its step's most likely (${title})`);
      assert.equal(p, (100 * prob).toFixed(1));
    }

    const penalised = reference.generation['quick_brown_fox_no_bos_rep1.3'];
    await page.fill('#generation-repetition-penalty', '1.3');
    await page.uncheck('#generation-kv-cache');
    await generate(penalised.new_ids.length);
    assert.deepEqual(await continuation('default'), penalised.new_ids);

    const steering = reference.steering;
    await page.fill('#generation-repetition-penalty', '');
    await page.check('#generation-kv-cache');
    await page.fill('#generation-prompt', steering.prompt);
    await page.check('#generation-bos');
    await page.fill('#generation-max-new-tokens', String(steering.steered_new_ids.length));
    await page.check('#generation-steer');
    await page.fill('#generation-steer-hook', steering.hook);
    await page.fill('#generation-steer-coeff', String(steering.coeff));
    await generate(steering.steered_new_ids.length, 'steered');
    assert.deepEqual(await continuation('steered'), steering.steered_new_ids);
    await page.screenshot({ path: path.join(screenshots, 'generation-steered.png'), fullPage: true });

    // ActAdd's placement reaches the engine: its padded steering prompts must fit in the prompt.
    await page.selectOption('#generation-steer-at', 'front');
    await page.fill('#generation-steer-positive', 'Love and peace and joy to everyone here');
    await page.fill('#generation-prompt', 'I hate');
    await page.click('#generate');
    await page.waitForSelector('#generation-error');
    assert.match(await page.textContent('#generation-error'), /the prompt must be at least as long/);
    await page.selectOption('#generation-steer-at', 'every');

    await page.fill('#generation-temperature', 'hot');
    await page.click('#generate');
    await page.waitForFunction(() => document.querySelector('#generation-error')?.textContent.includes('temperature'));
    assert.match(await page.textContent('#generation-error'), /temperature: `hot` is not a number/);
    await page.uncheck('#generation-steer');
    await checkDecodingControls(page, 'cpu');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

/** Opens the app with `query` (e.g. `?hub=...`). */
async function openAt(kind, query) {
  const { browser, page, errors } = await open(kind);
  await page.goto(`${server.app}${query}`);
  await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
  return { browser, page, errors };
}

async function loadError(page, pattern) {
  await page.waitForFunction((source) => new RegExp(source).test(document.querySelector('#load-error')?.textContent ?? ''), pattern.source, { timeout: 120_000 });
  return page.textContent('#load-error');
}

test('hub ids: sizes and sha256 are checked against the hub, models too large are refused before download', async () => {
  const { browser, page, errors } = await openAt('cpu', `?hub=${encodeURIComponent(server.base)}`);
  const count = (p) => server.requests.filter((r) => r === p).length;
  try {
    await page.fill('#model-url', 'test/tiny-gpt2');
    await page.click('#load-model');
    await checkPrompt(page);
    assert.ok(count('/api/models/test/tiny-gpt2/tree/main') >= 1, 'the hub was asked for the file list');

    await page.fill('#model-url', 'test/tampered');
    await page.click('#load-model');
    assert.match(await loadError(page, /sha256/), /model\.safetensors has sha256 [0-9a-f]{64} but the hub lists f{64}: the file is corrupt/);

    await page.fill('#model-url', 'test/huge');
    await page.click('#load-model');
    const refusal = await loadError(page, /cannot be loaded here/);
    assert.match(refusal, /test\/huge cannot be loaded here: loading needs about \d+\.\d GB of page memory, but a browser tab has at most 4\.3 GB/);
    assert.match(refusal, /1558M parameters: 6\.4 GB of weights to download/);
    assert.equal(count('/test/huge/resolve/main/model.safetensors'), 0, 'the weights were never requested');
    assert.equal(count('/test/huge/resolve/main/tokenizer.json'), 0);

    await page.fill('#model-url', 'ftp://example.com/models/gpt2/');
    await page.click('#load-model');
    assert.match(await loadError(page, /http/), /Patchbay loads models over http\(s\) only/);

    await page.fill('#model-url', 'test/pytorch-only');
    await page.click('#load-model');
    assert.match(await loadError(page, /no model\.safetensors/), /test\/pytorch-only has no model\.safetensors .* pytorch_model\.bin/);
    await page.screenshot({ path: path.join(screenshots, 'error-too-large.png'), fullPage: true });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('a download can be cancelled; local files load from the picker, and a drop names what is missing', async () => {
  const { browser, page, errors } = await open('cpu');
  try {
    await loadModel(page, 'slow');
    await page.waitForFunction(() => /downloading model\.safetensors: \d/.test(document.querySelector('#load-status')?.textContent ?? ''), null, { timeout: 60_000 });
    await page.click('#cancel-load');
    assert.match(await loadError(page, /cancelled/), /the download was cancelled/);
    assert.equal(await page.$('#prompt-text'), null, 'no model was loaded');

    await page.setInputFiles('#model-files', ['config.json', 'tokenizer.json', 'model.safetensors'].map((f) => path.join(tiny, f)));
    await page.waitForFunction(() => document.querySelector('#load-status')?.textContent.includes('local files (model.safetensors)'), null, { timeout: 120_000 });
    await checkPrompt(page);

    await page.evaluate(async () => {
      const transfer = new DataTransfer();
      const config = await (await fetch('/models/tiny-gpt2/config.json')).blob();
      transfer.items.add(new File([config], 'config.json'));
      document.querySelector('#drop-zone').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    });
    assert.match(await loadError(page, /choose three files/), /choose three files: config\.json, tokenizer\.json and the weights \(\*\.safetensors\); got config\.json/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('WebGPU holds a 154 MB token embedding (over the default 128 MiB binding) and computes with it', async () => {
  const { browser, page, errors } = await open('webgpu');
  try {
    assert.equal(await page.getAttribute('#device', 'data-backend'), 'wgpu');
    await loadModel(page, 'wide');
    await page.waitForSelector('#prompt-text', { timeout: 300_000 });
    await page.fill('#prompt-text', 'Hello world');
    await page.click('#run-prompt');
    await page.waitForFunction(() => document.querySelectorAll('#top-k tbody tr').length === 10, null, { timeout: 300_000 });
    const ids = await page.$$eval('#token-strip .token', (spans) => spans.map((s) => Number(s.dataset.id)));
    const { d, vocab, wte, wpe, epsilon } = wide;
    const last = ids.length - 1;
    const x = Float64Array.from({ length: d }, (_, i) => wte[ids[last] * d + i] + wpe[last * d + i]);
    const mean = x.reduce((a, b) => a + b) / d;
    const variance = x.reduce((a, b) => a + (b - mean) ** 2, 0) / d;
    const normed = x.map((v) => (v - mean) / Math.sqrt(variance + epsilon));
    const logits = Float64Array.from({ length: vocab }, (_, t) => {
      let sum = 0;
      for (let i = 0; i < d; i++) sum += normed[i] * wte[t * d + i];
      return sum;
    });
    const expected = [...logits.keys()].sort((a, b) => logits[b] - logits[a]).slice(0, 10);
    const rows = await page.$$eval('#top-k tbody tr', (trs) => trs.map((tr) => ({ id: Number(tr.dataset.id), logit: Number(tr.dataset.logit) })));
    assert.deepEqual(rows.map((r) => r.id), expected);
    rows.forEach((r) => assert.ok(Math.abs(r.logit - logits[r.id]) < 1e-3, `logit of ${r.id}: ${r.logit} vs ${logits[r.id]}`));
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('a lost GPU device: a clear message, the CPU takes over, the model reloads from the cache', async () => {
  const { browser, page, errors } = await open('webgpu');
  try {
    await page.waitForSelector('#device[data-backend=wgpu]', { timeout: 60_000 });
    await loadModel(page, 'tiny-gpt2');
    await page.waitForSelector('#prompt-text', { timeout: 120_000 });
    // The device lives in the model's worker, which keeps a handle on it for diagnostics.
    const worker = page.workers().find((w) => w.url().endsWith('/static/model-worker.js'));
    assert.ok(worker, `the model runs in a worker (workers: ${page.workers().map((w) => w.url())})`);
    await worker.evaluate(() => self.patchbayGpuDevice.destroy());
    await page.waitForSelector('#device-lost', { timeout: 60_000 });
    assert.match(await page.textContent('#device-lost'), /The GPU device was lost \(destroyed.*\)\. Patchbay now runs on the CPU: load the model again/);
    assert.equal(await page.getAttribute('#device', 'data-backend'), 'cpu');
    assert.equal(await page.$('#prompt-text'), null, 'the lost session is gone');
    await page.screenshot({ path: path.join(screenshots, 'error-device-lost.png'), fullPage: true });
    await loadModel(page, 'tiny-gpt2');
    await page.waitForFunction(() => document.querySelector('#load-status')?.textContent.includes('from the browser cache'), null, { timeout: 120_000 });
    await checkPrompt(page);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('benchmark panel (?bench&run): GPT-2 small\'s shape built in the tab, timed, reported as JSON', async () => {
  const { browser, page, errors } = await openAt('cpu', '?bench&run&workloads=forward,generate_kv&reps=1');
  try {
    await page.waitForSelector('#bench-result', { timeout: 600_000 });
    const rows = await page.$$eval('#bench-table tbody tr', (trs) => trs.map((tr) => ({ workload: tr.dataset.workload, ms: Number(tr.dataset.medianMs) })));
    assert.deepEqual(rows.map((r) => r.workload), ['forward', 'generate_kv']);
    rows.forEach((r) => assert.ok(r.ms > 0, `${r.workload} took ${r.ms} ms`));
    const report = JSON.parse(await page.getAttribute('#bench-result', 'data-report'));
    assert.equal(report.device, 'cpu');
    assert.match(report.browser, /Chrome/);
    assert.deepEqual(Object.keys(report.cases), ['forward', 'generate_kv']);
    assert.equal(report.cases.forward.runs_s.length, 1);
    assert.ok(report.cases.forward.first_run_s > 0, 'the first run (warm-up) is timed apart');
    assert.equal(report.cases.forward.gpu_calls, undefined, 'the CPU backend asks nothing of a GPU');
    assert.ok(report.wasm_memory_mb > 475, `the 124M-parameter model lives in wasm memory (${report.wasm_memory_mb} MiB)`);
    console.log(`in-browser CPU, GPT-2 small shape: forward ${rows[0].ms.toFixed(0)} ms, 32 tokens with KV cache ${rows[1].ms.toFixed(0)} ms`);
    await page.screenshot({ path: path.join(screenshots, 'benchmark.png'), fullPage: true });

    // A workload name the panel does not know is an error on the page, and nothing runs.
    await page.goto(`${server.app}?bench&run&workloads=forward,fastest`);
    await page.waitForSelector('#bench-error');
    assert.match(await page.textContent('#bench-error'), /unknown workload `fastest`: one of forward, cache/);
    assert.equal(await page.$$eval('#bench-table tbody tr', (trs) => trs.length), 0);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('benchmark panel on WebGPU: each run\'s GPU work counted (dispatches, uploads, read-backs), no pipeline created once compiled', async () => {
  // The narrow model: GPT-2 small's 12 layers, heads and vocabulary at width 48 — the same
  // launches as GPT-2 small at a speed SwiftShader manages.
  const { browser, page, errors } = await openAt('webgpu', '?bench&run&workloads=forward,generate_kv&reps=1&shape=narrow');
  try {
    await page.waitForSelector('#bench-result', { timeout: 600_000 });
    const report = JSON.parse(await page.getAttribute('#bench-result', 'data-report'));
    assert.equal(report.device, 'wgpu');
    assert.match(report.model, /d_model 48/);
    assert.match(await page.textContent('#bench-shape'), /d_model 48/);
    const forward = report.cases.forward.gpu_calls;
    const generated = report.cases.generate_kv.gpu_calls;
    console.log(`WebGPU (SwiftShader), narrow GPT-2 small: forward ${JSON.stringify(forward.webgpu)}, ${forward.kernel_launches} launches; ` +
      `32 tokens ${JSON.stringify(generated.webgpu)}, ${generated.kernel_launches} launches; first forward ${(report.cases.forward.first_run_s * 1e3).toFixed(0)} ms, steady ${(report.cases.forward.median_s * 1e3).toFixed(0)} ms`);
    // Every CubeCL launch is one dispatch, counted on both sides of the API.
    assert.equal(forward.webgpu.dispatches, forward.kernel_launches);
    assert.equal(generated.webgpu.dispatches, generated.kernel_launches);
    assert.ok(forward.kernel_launches >= 12 * 10, `12 blocks of at least 10 kernels (${forward.kernel_launches})`);
    assert.ok(Object.keys(forward.kernels).length > 3);
    // Each LayerNorm, GELU and masked softmax is one kernel (CubeCL compiled to WGSL).
    assert.equal(forward.kernels.LayerNormKernel, 2 * 12 + 1, JSON.stringify(forward.kernels));
    assert.equal(forward.kernels.GeluNewKernel, 12, JSON.stringify(forward.kernels));
    assert.equal(forward.kernels.CausalSoftmaxKernel, 12, JSON.stringify(forward.kernels));
    // Kernels are compiled in the warm-up and reused: a steady run creates no pipeline.
    assert.equal(forward.webgpu.pipelines, 0);
    assert.equal(generated.webgpu.pipelines, 0);
    // The forward reads its logits back once; generation reads each new token.
    assert.ok(forward.webgpu.reads >= 1 && forward.webgpu.reads <= 2, `reads: ${forward.webgpu.reads}`);
    assert.ok(generated.webgpu.reads >= 32, `reads: ${generated.webgpu.reads}`);
    assert.ok(generated.webgpu.dispatches > forward.webgpu.dispatches);
    const cell = await page.textContent('#bench-table tr[data-workload=forward] .gpu-calls');
    assert.match(cell, new RegExp(`^${forward.webgpu.dispatches} dispatches · \\d+ uploads .* 0 pipelines created`));
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('a gpt2-medium-shaped model (355M parameters, 710 MB of f16 weights) loads and runs on the CPU backend', async () => {
  const { browser, page, errors } = await open('cpu');
  try {
    await loadModel(page, 'medium');
    await page.waitForSelector('#prompt-text', { timeout: 600_000 });
    const status = await page.textContent('#load-status');
    assert.match(status, /loaded .* \(24 layers, 16 heads, d_model 1024\)/);
    const peak = Number(/WebAssembly memory peaked at (\d+) MiB/.exec(status)[1]);
    console.log(`gpt2-medium shape on the CPU backend: WebAssembly memory peaked at ${peak} MiB (f32 parameters: ${(354.8e6 * 4 / 1048576).toFixed(0)} MiB)`);
    assert.ok(peak < 4096, 'it fits a 4 GiB tab');
    await page.click('#run-prompt');
    await page.waitForFunction(() => document.querySelectorAll('#top-k tbody tr').length === 10, null, { timeout: 600_000 });
    await page.waitForSelector('#attention[data-layers-shown="24"]', { timeout: 60_000 });
    const probs = await page.$$eval('#top-k tbody tr', (trs) => trs.map((tr) => Number(tr.dataset.prob)));
    assert.ok(probs.every((p) => p > 0 && p < 1), `next-token probabilities ${probs}`);
    assert.equal(await page.$$eval('table.pattern', (t) => t.length), 24 * 16, 'an attention pattern for every head');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('a sweep shared among a pool of workers equals the oracle, fills its heatmap as it goes, and is refused past the tab\'s memory budget', async () => {
  const { browser, page, errors } = await open('cpu');
  try {
    await loadModel(page, 'tiny-gpt2');
    await page.waitForSelector('#prompt-text', { timeout: 120_000 });
    // The IOI patching example: six sweeps, each cell computed by one of three workers (the
    // page's model worker and two more, started for the run).
    await page.evaluate(() => {
      window.workersStarted = 0;
      window.Worker = new Proxy(window.Worker, { construct(target, args) { window.workersStarted++; return new target(...args); } });
    });
    await page.selectOption('#workers', '3');
    await checkPatching(page);
    assert.equal(await page.evaluate(() => window.workersStarted), 2);
    // A second run reuses them (too fast on the tiny model to catch a partial heatmap).
    await checkPatching(page, { partly: false });
    assert.equal(await page.evaluate(() => window.workersStarted), 2);
    // Each worker holds its own copy of the model: with the device's memory reported as
    // 32 MiB (a budget of 16), a second copy does not fit, and nothing runs.
    await page.evaluate(() => Object.defineProperty(Navigator.prototype, 'deviceMemory', { get: () => 1 / 32 }));
    const before = await page.getAttribute('#experiment-result', 'data-run-id');
    await page.selectOption('#workers', '2');
    await page.click('#run-experiment');
    await page.waitForSelector('#experiment-error', { timeout: 60_000 });
    const message = await page.textContent('#experiment-error');
    assert.match(message, /2 workers would hold .* over this tab's budget of .*; at most 1 fit/);
    assert.equal(await page.getAttribute('#experiment-result', 'data-run-id'), before, 'the last result stays');
    // One worker needs no second copy.
    await page.selectOption('#workers', '1');
    await page.click('#run-experiment');
    await page.waitForFunction((previous) => document.querySelector('#experiment-result')?.dataset.runId !== previous, before, { timeout: 300_000 });
    assert.equal(await page.evaluate(() => window.workersStarted), 2, 'no worker started past the budget');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
