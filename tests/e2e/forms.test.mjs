// The experiment form writes every kind a user would otherwise write as JSON. Each bundled
// example is built by hand in the form — kind chosen, fields typed — and the spec it writes
// equals the example's (as the app normalises it: opened in the editor, written back by the
// form); two of them then run on the tiny model and their figures match the oracle. The JSON
// editor follows the form, and the form follows the JSON editor.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, repo, tiny, readTensor } from './serve.mjs';
import { executablePath, cpuArgs } from './chromium.mjs';

const example = (name) => JSON.parse(fs.readFileSync(path.join(repo, `static/experiments/${name}.json`), 'utf8'));
const oracle = (name) => readTensor(path.join(tiny, 'reference.safetensors'), name);

let server;
before(async () => {
  server = await startServer();
});
after(() => server.server.close());

const prompts = (spec) => ({
  clean: spec.prompts.clean.map((p) => p.replaceAll('\n', '\\n')).join('\n'),
  corrupted: (spec.prompts.corrupted ?? []).map((p) => p.replaceAll('\n', '\\n')).join('\n'),
  answers: spec.prompts.answers.map(([a, b]) => `${a.trim()} | ${b.trim()}`).join('\n'),
});
const heads = (list) => list.map(([l, h]) => `${l}.${h}`).join(' ');

/** What a user types for each example: the kind, then its fields. */
const filling = {
  'ioi-zero-ablation-heads': { kind: 'ablation', select: { '#form-ablation': 'zero', '#form-ablation-unit': 'heads' } },
  'ioi-mean-ablation-heads': { kind: 'ablation', select: { '#form-ablation': 'mean', '#form-ablation-unit': 'heads' } },
  'ioi-zero-ablation-mlp': { kind: 'ablation', select: { '#form-ablation': 'zero', '#form-ablation-unit': 'mlp' } },
  'ioi-knockout-heads-at-end': { kind: 'ablation', select: { '#form-ablation': 'zero', '#form-ablation-unit': 'heads' }, fill: { '#form-position': '14' } },
  'ioi-resample-ablation-neurons': { kind: 'ablation', select: { '#form-ablation': 'resample', '#form-ablation-unit': 'neurons' }, fill: { '#form-neuron-layer': '0', '#form-neurons': '0 1 2 3 4 5 6 7' } },
  'ioi-circuit': { kind: 'circuit', fill: { '#form-keep': (s) => heads(s.experiment.circuit.keep) } },
  'ioi-logit-lens': { kind: 'logit_lens' },
  'ioi-attribution-agreement': { kind: 'attribution_patching', check: (s) => s.experiment.attribution_patching.targets.map((t) => `[data-attribution=${t}]`) },
  'ioi-path-patching-name-movers': { kind: 'path_patching', select: { '#form-direction': 'noising', '#form-receiver-input': 'q' }, fill: { '#form-receivers': (s) => heads(s.experiment.path_patching.receivers.heads) } },
  'ioi-edge-attribution': { kind: 'edge_attribution_patching', fill: { '#form-top': '50' } },
  'mcq-anchored-neurons': { kind: 'neuron_dla', fill: { '#form-top': '20' } },
  'colored-objects-head-patching': { kind: 'activation_patching', check: () => ['[data-target=attn_head_out_all_pos]', '[data-target=resid_pre]'] },
  'ln-free-loss': { kind: 'loss', fill: { '#form-texts': (s) => s.experiment.loss.texts.join('\n') } },
  'repetition-ditto': { kind: 'repetition', fill: { '#form-sentence': (s) => s.experiment.repetition.sentence, '#form-repeats': '10' } },
};

/** The spec now in the editor, parsed. */
const editor = async (page) => JSON.parse(await page.inputValue('#spec-text'));

/** `name` as the app writes it: opened in the editor, written back by the form. */
async function normalised(page, name) {
  await page.fill('#spec-text', JSON.stringify(example(name)));
  await page.click('#form-write');
  return editor(page);
}

/** `name` built from scratch in the form, as `filling` says. */
async function built(page, name) {
  const spec = example(name);
  const how = filling[name];
  await page.fill('#spec-text', '');  // nothing to follow: the form keeps what it has
  // Choosing a kind starts a new experiment (no title, no paper's values).
  await page.selectOption('#form-kind', how.kind === 'loss' ? 'logit_lens' : 'loss');
  await page.selectOption('#form-kind', how.kind);
  // Its help says what it measures and links its paper.
  assert.equal(await page.getAttribute('#form-help', 'data-kind'), how.kind);
  assert.match(await page.getAttribute('#form-help a', 'href'), /^https:\/\//);
  if (spec.prompts) {
    const { clean, corrupted, answers } = prompts(spec);
    await page.fill('#form-clean', clean);
    await page.fill('#form-corrupted', corrupted);
    await page.fill('#form-answers', answers);
  }
  await page.setChecked('#form-bos', spec.prompts?.prepend_bos ?? spec.experiment[how.kind]?.prepend_bos ?? true);
  for (const [selector, value] of Object.entries(how.select ?? {})) await page.selectOption(selector, value);
  for (const [selector, value] of Object.entries(how.fill ?? {})) await page.fill(selector, typeof value === 'function' ? value(spec) : value);
  if (how.check) {
    for (const box of await page.$$('#patching-form [data-target], #patching-form [data-attribution]')) await box.setChecked(false);
    for (const selector of how.check(spec)) await page.check(selector);
  }
  const problems = await page.$('#form-problems');
  assert.equal(problems && (await problems.textContent()), null, `${name}: the form reports problems`);
  await page.click('#form-write');
  return editor(page);
}

test('every example the form can write is built by hand in it; two run and match the oracle', async () => {
  const browser = await chromium.launch({ executablePath, headless: true, args: cpuArgs });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.app);
    await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
    await page.fill('#model-url', `${server.base}/models/tiny-gpt2/`);
    await page.click('#load-model');
    await page.waitForSelector('#prompt-text', { timeout: 120_000 });
    await page.click('#patching-form summary');

    // The JSON editor fills the form where the form can hold the spec.
    await page.fill('#spec-text', JSON.stringify(example('ioi-circuit')));
    assert.equal(await page.inputValue('#form-kind'), 'circuit');
    assert.equal(await page.inputValue('#form-keep'), heads(example('ioi-circuit').experiment.circuit.keep));

    for (const name of Object.keys(filling)) {
      const expected = await normalised(page, name);
      const spec = await built(page, name);
      for (const part of ['prompts', 'metric', 'experiment']) {
        assert.deepEqual(spec[part], expected[part], `${name}: ${part}`);
      }
      assert.equal(spec.published, undefined, `${name}: a spec built from scratch carries no paper's values`);
    }

    // Built in the form and run: the oracle's zero ablation of every head, and its per-head DLA.
    for (const [name, grid] of [['ioi-zero-ablation-heads', 'ablate.zero_head_z'], ['ioi-logit-lens', 'lens.head_dla_logit_diff']]) {
      await built(page, name);
      const before = await page.getAttribute('#experiment-result', 'data-run-id').catch(() => null);
      await page.click('#run-experiment');
      await page.waitForFunction((previous) => {
        const id = document.querySelector('#experiment-result')?.dataset.runId;
        return id && id !== previous && !document.querySelector('#run-experiment').disabled;
      }, before, { timeout: 300_000 });
      const values = await page.$$eval(`table[data-grid="${grid}"] td[data-value]`, (tds) => tds.map((td) => Number(td.dataset.value)));
      const expected = oracle(grid).values;
      assert.equal(values.length, expected.length, grid);
      values.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-4, `${grid}[${i}]: ${v} vs ${expected[i]}`));
    }
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
