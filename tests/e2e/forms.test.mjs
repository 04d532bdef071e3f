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
import { loadTiny } from './page.mjs';
import './views.mjs'; // acts as a user does: opens the view (and fold) of what it touches

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
const number = (v) => (v === undefined || v === null ? '' : String(v));

/** Every sampling field, as typed for the spec's settings (the form keeps the last kind's). */
const sampling = (s, kind) => {
  const g = { max_new_tokens: 32, temperature: 0, frequency_penalty: 0, presence_penalty: 0, ...s.experiment[kind].generation };
  return {
    '#form-prompt': s.experiment[kind].prompt,
    '#form-max-new-tokens': String(g.max_new_tokens),
    '#form-temperature': String(g.temperature),
    '#form-top-k': number(g.top_k),
    '#form-top-p': number(g.top_p),
    '#form-repetition-penalty': number(g.repetition_penalty),
    '#form-frequency-penalty': String(g.frequency_penalty),
    '#form-presence-penalty': String(g.presence_penalty),
    '#form-banned-tokens': (g.banned_tokens ?? []).join(' '),
    '#form-logit-bias': Object.entries(g.logit_bias ?? {}).map(([id, b]) => `${id}:${b}`).join(' '),
    '#form-seed': String(s.seed ?? 0),
    '#form-no-repeat-ngram': String(g.no_repeat_ngram_size ?? 0),
    '#form-num-beams': String(g.num_beams ?? 1),
    '#form-length-penalty': String(g.length_penalty ?? 1),
    // GeDi is off while its model field is empty.
    '#form-gedi-model': g.gedi?.model.id ?? '',
    ...(g.gedi ? {
      '#form-gedi-desired': g.gedi.desired,
      '#form-gedi-undesired': g.gedi.undesired,
      '#form-gedi-weight': String(g.gedi.disc_weight),
      '#form-gedi-filter-p': String(g.gedi.filter_p),
      '#form-gedi-target-p': String(g.gedi.target_p),
      '#form-gedi-class-bias': String(g.gedi.class_bias ?? 0),
    } : {}),
  };
};
const steering = (s) => ({
  ...sampling(s, 'steering'),
  '#form-steer-hook': s.experiment.steering.hook,
  '#form-steer-positive': s.experiment.steering.positive,
  '#form-steer-negative': s.experiment.steering.negative,
  '#form-steer-coeff': String(s.experiment.steering.coeff),
});
const generationChecks = (s, kind) => ({
  '#form-stop-at-eos': s.experiment[kind].generation.stop_at_eos ?? true,
  '#form-kv-cache': s.experiment[kind].generation.kv_cache ?? true,
});

/** A word-association test's fields: one word per line, each with its leading space. */
const weat = (s) => {
  const t = s.experiment.association_test;
  return {
    '#form-weat-template': t.template,
    '#form-weat-hook': t.hook,
    '#form-weat-x': t.targets[0].join('\n'),
    '#form-weat-y': t.targets[1].join('\n'),
    '#form-weat-a': t.attributes[0].join('\n'),
    '#form-weat-b': t.attributes[1].join('\n'),
  };
};

/** Attribution patching's form offers both methods; these examples ask for the gradient alone. */
const gradientOnly = { '[data-method=gradient]': true, '[data-method=relp]': false };

/** What a user types for each example: the kind, then its fields. */
const filling = {
  'ioi-activation-patching': { kind: 'activation_patching', check: (s) => s.experiment.activation_patching.targets.map((t) => `[data-target=${t}]`) },
  'mcq-anchored-patching': { kind: 'activation_patching', check: (s) => s.experiment.activation_patching.targets.map((t) => `[data-target=${t}]`) },
  'ioi-attribution-patching': { kind: 'attribution_patching', toggle: () => gradientOnly, check: () => ['z', 'z_by_pos', 'resid_pre'].map((t) => `[data-attribution=${t}]`) },
  'ioi-relp': { kind: 'attribution_patching', toggle: () => ({ '[data-method=gradient]': true, '[data-method=relp]': true }), check: (s) => s.experiment.attribution_patching.targets.map((t) => `[data-attribution=${t}]`) },
  'ln-free-logit-lens': { kind: 'logit_lens' },
  'vanilla-logit-lens': { kind: 'logit_lens' },
  'vanilla-loss': { kind: 'loss', fill: { '#form-texts': (s) => s.experiment.loss.texts.join('\n') } },
  'quick-brown-fox-sampling': { kind: 'generation', fill: (s) => sampling(s, 'generation'), toggle: (s) => generationChecks(s, 'generation') },
  'beam-search-quick-brown-fox': { kind: 'generation', fill: (s) => sampling(s, 'generation'), toggle: (s) => generationChecks(s, 'generation') },
  'gedi-sentiment-positive': { kind: 'generation', fill: (s) => sampling(s, 'generation'), toggle: (s) => generationChecks(s, 'generation') },
  'gedi-sentiment-negative': { kind: 'generation', fill: (s) => sampling(s, 'generation'), toggle: (s) => generationChecks(s, 'generation') },
  'hftp-syntax': {
    kind: 'frequency_tagging',
    fill: (s) => {
      const t = s.experiment.frequency_tagging;
      return { '#form-hftp-sentences': t.sentences.join('\n'), '#form-hftp-words-per-sentence': String(t.words_per_sentence),
        '#form-hftp-words-per-phrase': String(t.words_per_phrase), '#form-hftp-threshold': String(t.threshold) };
    },
    toggle: () => ({ '#form-hftp-shuffled': true }),
  },
  'weat-career-family-embed': { kind: 'association_test', fill: weat },
  'weat-career-family-layer6': { kind: 'association_test', fill: weat },
  'weat-math-arts-layer6': { kind: 'association_test', fill: weat },
  'weat-science-arts-layer6': { kind: 'association_test', fill: weat },
  // Steers with the direction another example's run finds: the form shows it (a direction
  // comes from a run, not from typing), and writes it back unchanged.
  'moral-direction-steering': { openedOnly: true },
  'gedi-zero-shot-gpt2': { kind: 'generation', fill: (s) => sampling(s, 'generation'), toggle: (s) => generationChecks(s, 'generation') },
  'steering-love-hate': { kind: 'steering', fill: steering, toggle: (s) => generationChecks(s, 'steering'), select: { '#form-steer-at': 'every' } },
  'steering-love-hate-front': { kind: 'steering', fill: steering, toggle: (s) => generationChecks(s, 'steering'), select: { '#form-steer-at': 'front' } },
  'steering-moral': { kind: 'steering', fill: steering, toggle: (s) => generationChecks(s, 'steering'), select: { '#form-steer-at': 'front' } },
  'ioi-zero-ablation-heads': { kind: 'ablation', select: { '#form-ablation': 'zero', '#form-ablation-unit': 'heads' } },
  'ioi-mean-ablation-heads': { kind: 'ablation', select: { '#form-ablation': 'mean', '#form-ablation-unit': 'heads' } },
  'ioi-zero-ablation-mlp': { kind: 'ablation', select: { '#form-ablation': 'zero', '#form-ablation-unit': 'mlp' } },
  'ioi-knockout-heads-at-end': { kind: 'ablation', select: { '#form-ablation': 'zero', '#form-ablation-unit': 'heads' }, fill: { '#form-position': '14' } },
  'ioi-resample-ablation-neurons': { kind: 'ablation', select: { '#form-ablation': 'resample', '#form-ablation-unit': 'neurons' }, fill: { '#form-neuron-layer': '0', '#form-neurons': '0 1 2 3 4 5 6 7' } },
  'ioi-circuit': { kind: 'circuit', fill: { '#form-keep': (s) => heads(s.experiment.circuit.keep) } },
  'ioi-logit-lens': { kind: 'logit_lens' },
  'ioi-attribution-agreement': { kind: 'attribution_patching', toggle: () => gradientOnly, check: (s) => s.experiment.attribution_patching.targets.map((t) => `[data-attribution=${t}]`) },
  'ioi-path-patching-name-movers': { kind: 'path_patching', select: { '#form-direction': 'noising', '#form-receiver-input': 'q' }, fill: { '#form-receivers': (s) => heads(s.experiment.path_patching.receivers.heads) } },
  'ioi-edge-attribution': { kind: 'edge_attribution_patching', fill: { '#form-top': '50' } },
  'mcq-anchored-neurons': { kind: 'neuron_dla', fill: { '#form-top': '20' } },
  'colored-objects-head-patching': { kind: 'activation_patching', check: () => ['[data-target=attn_head_out_all_pos]', '[data-target=resid_pre]'] },
  'ln-free-loss': { kind: 'loss', fill: { '#form-texts': (s) => s.experiment.loss.texts.join('\n') } },
  'repetition-ditto': { kind: 'repetition', fill: { '#form-sentence': (s) => s.experiment.repetition.sentence, '#form-repeats': '10' } },
  'moral-direction': { kind: 'direction', select: { '#form-direction-method': 'pca' }, fill: { '#form-direction-texts': (s) => s.experiment.direction.texts.join('\n'), '#form-direction-hook': (s) => s.experiment.direction.hook } },
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
  const fill = typeof how.fill === 'function' ? how.fill(spec) : how.fill ?? {};
  for (const [selector, value] of Object.entries(fill)) await page.fill(selector, typeof value === 'function' ? value(spec) : value);
  for (const [selector, on] of Object.entries(how.toggle?.(spec) ?? {})) await page.setChecked(selector, on);
  if (how.check) {
    for (const box of await page.$$('#patching-form [data-target], #patching-form [data-attribution]')) await box.setChecked(false);
    for (const selector of how.check(spec)) await page.check(selector);
  }
  const problems = await page.$('#form-problems');
  assert.equal(problems && (await problems.textContent()), null, `${name}: the form reports problems`);
  await page.click('#form-write');
  return editor(page);
}

test('every bundled example is built by hand in the form; three run and match the oracle', async () => {
  const browser = await chromium.launch({ executablePath, headless: true, args: cpuArgs });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.app);
    await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
    await loadTiny(page, server.base);
    await page.click('#patching-form summary');

    // The JSON editor fills the form where the form can hold the spec.
    await page.fill('#spec-text', JSON.stringify(example('ioi-circuit')));
    assert.equal(await page.inputValue('#form-kind'), 'circuit');
    assert.equal(await page.inputValue('#form-keep'), heads(example('ioi-circuit').experiment.circuit.keep));

    const bundled = fs.readdirSync(path.join(repo, 'static/experiments')).map((f) => f.replace(/\.json$/, '')).sort();
    assert.deepEqual(Object.keys(filling).sort(), bundled, 'every bundled example has its filling');
    for (const name of Object.keys(filling)) {
      const expected = await normalised(page, name);
      if (filling[name].openedOnly) {
        const [written, bundled] = [expected.experiment.steering, example(name).experiment.steering];
        assert.deepEqual(written.direction, bundled.direction, name);
        assert.deepEqual([written.hook, written.coeff, written.prompt], [bundled.hook, bundled.coeff, bundled.prompt], name);
        assert.match(await page.textContent('#form-steer-direction'), /the direction example moral-direction finds/);
        continue;
      }
      const spec = await built(page, name);
      for (const part of ['prompts', 'metric', 'experiment']) {
        assert.deepEqual(spec[part], expected[part], `${name}: ${part}`);
      }
      assert.equal(spec.published, undefined, `${name}: a spec built from scratch carries no paper's values`);
    }

    // Answers are shown as the tokenizer sees them; one of several tokens is refused at the field.
    const ioi = example('ioi-activation-patching');
    await page.fill('#spec-text', JSON.stringify(ioi));
    const answers = prompts(ioi).answers.split('\n');
    answers[0] = 'Mary | Xylophonemasterpiece';
    await page.fill('#form-answers', answers.join('\n'));
    await page.waitForFunction(() => /Xylophonemasterpiece" is \d+ tokens/.test(document.querySelector('#form-problems')?.textContent ?? ''), null, { timeout: 60_000 });
    assert.equal(await page.getAttribute('#form-answer-tokens [data-answer=" Mary"]', 'data-tokens'), '1');
    assert.ok(Number(await page.getAttribute('#form-answer-tokens [data-answer=" Xylophonemasterpiece"]', 'data-tokens')) > 1);
    assert.ok(await page.isDisabled('#form-write'), 'a spec the run would refuse is not written');

    // Generation and steering texts are shown tokenised; ActAdd's front placement is checked
    // against the prompt's length before anything runs.
    await built(page, 'steering-love-hate-front');
    await page.fill('#form-steer-positive', 'Love and peace and joy to everyone here');
    await page.fill('#form-prompt', 'I hate');
    await page.waitForFunction(() => /must be at least as long/.test(document.querySelector('#form-problems')?.textContent ?? ''), null, { timeout: 60_000 });
    assert.equal(await page.getAttribute('#form-text-tokens [data-text-tokens=prompt]', 'data-count'), '3', '<|endoftext|>, "I", " hate"');
    await page.selectOption('#form-steer-at', 'every');
    await page.waitForFunction(() => !document.querySelector('#form-problems'), null, { timeout: 60_000 });

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

    // A word-association test built in the form with the oracle's words, run on the token
    // embedding: each target word's s on the figure, the effect size and the exact p-value.
    const probes = JSON.parse(fs.readFileSync(path.join(tiny, 'probes.json'), 'utf8')).weat;
    await built(page, 'weat-career-family-embed');
    for (const [selector, value] of Object.entries({ '#form-weat-template': probes.template, '#form-weat-hook': probes.hooks.embed,
      '#form-weat-x': probes.X.join('\n'), '#form-weat-y': probes.Y.join('\n'), '#form-weat-a': probes.A.join('\n'), '#form-weat-b': probes.B.join('\n') })) {
      await page.fill(selector, value);
    }
    await page.click('#form-write');
    await page.click('#run-experiment');
    await page.waitForSelector('figure[data-figure="weat.s"]', { timeout: 300_000 });
    const dots = await page.$$eval('figure[data-figure="weat.s"] circle[data-label]', (cs) => cs.map((c) => [c.dataset.label, Number(c.dataset.value), Number(c.dataset.group)]));
    const s = readTensor(path.join(tiny, 'probes.safetensors'), 'weat.embed.s').values;
    const words = [...probes.X, ...probes.Y];
    assert.equal(dots.length, words.length);
    for (const [label, value, group] of dots) {
      const i = words.indexOf(label);
      assert.ok(i >= 0, label);
      assert.ok(Math.abs(value - s[i]) < 1e-4, `s(${label}): ${value} vs ${s[i]}`);
      assert.equal(group, i < probes.X.length ? 0 : 1);
    }
    for (const name of ['effect_size', 'p_value']) {
      const value = Number(await page.getAttribute(`[data-metric="weat.${name}"]`, 'data-value'));
      const expected = readTensor(path.join(tiny, 'probes.safetensors'), `weat.embed.${name}`).values[0];
      assert.ok(Math.abs(value - expected) < 1e-4, `weat.${name}: ${value} vs ${expected}`);
    }

    // Frequency tagging built in the form with the oracle's 32 sentences: the tagged shares by
    // layer on the headline figure, the shuffled control beside them.
    const hftp = JSON.parse(fs.readFileSync(path.join(tiny, 'probes.json'), 'utf8')).hftp;
    await built(page, 'hftp-syntax');
    await page.fill('#form-hftp-sentences', hftp.sentences.join('\n'));
    await page.click('#form-write');
    await page.click('#run-experiment');
    await page.waitForSelector('figure[data-chart="hftp.tagged"]', { timeout: 300_000 });
    const shares = readTensor(path.join(tiny, 'probes.safetensors'), 'hftp.tagged').values;
    for (const [series, column] of [['sentence rate', 0], ['phrase rate', 1]]) {
      const values = await page.$$eval(`figure[data-chart="hftp.tagged"] g[data-series="${series}"] circle`, (cs) => cs.map((c) => Number(c.dataset.value)));
      assert.equal(values.length, shares.length / 2, series);
      values.forEach((v, layer) => assert.ok(Math.abs(v - shares[layer * 2 + column]) < 1e-4, `${series}, layer ${layer}: ${v}`));
    }
    assert.equal(await page.$$eval('figure[data-chart="hftp.tagged"] g[data-series="sentence rate, shuffled"] circle', (cs) => cs.length), shares.length / 2);
    // The spectrum of the layer with the most neurons tagged, the two rates ruled; another layer
    // chosen in its list.
    const layers = shares.length / 2;
    const bins = (hftp.sentences.length * 4) / 2 + 1;
    assert.equal(await page.$$eval('figure[data-figure="hftp.spectrum"] circle', (cs) => cs.length), bins);
    assert.equal(await page.$$eval('figure[data-figure="hftp.spectrum"] line[data-rule^="sentence rate"], figure[data-figure="hftp.spectrum"] line[data-rule^="phrase rate"]', (ls) => ls.length), 2);
    const spectrum = readTensor(path.join(tiny, 'probes.safetensors'), 'hftp.spectrum').values;
    const other = String((Number(await page.getAttribute('figure[data-figure="hftp.spectrum"]', 'data-layer')) + 1) % layers);
    await page.selectOption('#spectrum-layer', other);
    await page.waitForSelector(`figure[data-figure="hftp.spectrum"][data-layer="${other}"]`);
    const drawn = await page.$$eval('figure[data-figure="hftp.spectrum"] circle', (cs) => cs.map((c) => Number(c.dataset.value)));
    drawn.forEach((v, k) => {
      const expected = spectrum[Number(other) * bins + k];
      assert.ok(Math.abs(v - expected) <= 1e-3 * Math.max(Math.abs(expected), 1e-6), `spectrum, layer ${other}, bin ${k}: ${v} vs ${expected}`);
    });
    // A ranked neuron opens its activation over the stream, a point a token, every sentence's
    // first word ruled; its highest SNR is the oracle's.
    const snr = readTensor(path.join(tiny, 'probes.safetensors'), 'hftp.snr_sentence').values;
    const top = Math.max(...snr.filter(Number.isFinite));
    const first = await page.$('figure[data-ranked="hftp.snr_sentence"] tr[data-bar]');
    assert.ok(Math.abs(Number(await first.getAttribute('data-value')) - top) <= 1e-3 * top);
    const neuron = await first.getAttribute('data-bar');
    await page.click('figure[data-ranked="hftp.snr_sentence"] tr[data-bar] button.trace-neuron');
    await page.waitForSelector(`figure[data-trace="${neuron}"]`);
    assert.equal(await page.$$eval(`figure[data-trace="${neuron}"] circle`, (cs) => cs.length), hftp.sentences.length * 4);
    assert.equal(await page.$$eval(`figure[data-trace="${neuron}"] line[data-rule]`, (ls) => ls.length), hftp.sentences.length);

    // Sentences of the rhythm from the dataset form go into the frequency-tagging spec.
    await page.click('#dataset-form summary');
    await page.selectOption('#dataset-kind', 'sentences');
    await page.fill('#ioi-n', '16');
    await page.click('#generate-dataset');
    await page.waitForSelector('#dataset-note');
    assert.match(await page.textContent('#dataset-note'), /16 sentences .*frequency-tagging sentences/);
    const stream = (await editor(page)).experiment.frequency_tagging;
    assert.equal(stream.sentences.length, 16);
    assert.deepEqual([stream.words_per_sentence, stream.words_per_phrase], [4, 2]);

    // A direction from the oracle's texts: each text on the axis, then the direction steers.
    const found = JSON.parse(fs.readFileSync(path.join(tiny, 'probes.json'), 'utf8')).direction;
    await built(page, 'moral-direction');
    await page.fill('#form-direction-texts', found.texts.join('\n'));
    await page.fill('#form-direction-hook', found.hook);
    await page.click('#form-write');
    await page.click('#run-experiment');
    await page.waitForSelector('figure[data-figure="direction.projection"]', { timeout: 300_000 });
    const projection = readTensor(path.join(tiny, 'probes.safetensors'), 'direction.pca.projection').values;
    const texts = await page.$$eval('figure[data-figure="direction.projection"] circle[data-label]', (cs) => cs.map((c) => [c.dataset.label, Number(c.dataset.value)]));
    assert.equal(texts.length, found.texts.length);
    for (const [label, value] of texts) {
      const i = found.texts.indexOf(label);
      assert.ok(i >= 0 && Math.abs(value - projection[i]) < 1e-4, `${label}: ${value} vs ${projection[i]}`);
    }
    await page.click('#steer-with-direction');
    const steer = (await editor(page)).experiment.steering;
    assert.equal(steer.hook, found.hook);
    assert.equal(steer.direction.values.length, 64, "the tiny model's d_model");
    const norm = Math.hypot(...steer.direction.values);
    assert.ok(Math.abs(norm - 1) < 1e-4, `the direction is unit length: ${norm}`);
    await page.click('#run-experiment');
    await page.waitForSelector('[data-generation=steered]', { timeout: 300_000 });
    assert.ok(await page.$('[data-generation=unsteered], [data-generation=default]'), 'the unsteered continuation beside it');

    // The sampling example made greedy in the form, run: the oracle's continuation, each token
    // with its probability.
    const fox = JSON.parse(fs.readFileSync(path.join(tiny, 'reference.json'), 'utf8')).generation.quick_brown_fox_no_bos;
    await built(page, 'quick-brown-fox-sampling');
    for (const [selector, value] of Object.entries({ '#form-temperature': '0', '#form-top-k': '', '#form-top-p': '', '#form-repetition-penalty': '', '#form-frequency-penalty': '0', '#form-max-new-tokens': String(fox.new_ids.length) })) {
      await page.fill(selector, value);
    }
    await page.setChecked('#form-stop-at-eos', false);
    await page.click('#form-write');
    assert.equal((await editor(page)).experiment.generation.generation.temperature, 0);
    // The tokens show as they come, before the run ends.
    await page.evaluate(() => {
      window.sawStream = false;
      new MutationObserver(() => { window.sawStream ||= !!document.querySelector('[data-streamed=default] .token'); })
        .observe(document.body, { childList: true, subtree: true });
    });
    await page.click('#run-experiment');
    await page.waitForSelector('[data-generation=default]', { timeout: 300_000 });
    assert.ok(await page.evaluate(() => window.sawStream), 'tokens streamed into the experiment panel');
    assert.equal(await page.$('[data-streamed]'), null, 'the finished run replaces the stream');
    const ids = (await page.getAttribute('[data-generation=default]', 'data-ids')).split(',').map(Number);
    assert.deepEqual(ids, fox.new_ids);
    assert.equal(await page.getAttribute('[data-generation=default]', 'data-text'), fox.new_text);
    assert.equal(await page.$$eval('[data-generation=default] .token[data-prob]', (t) => t.length), fox.new_ids.length);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
