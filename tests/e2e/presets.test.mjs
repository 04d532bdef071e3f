// The gallery of published studies: `?preset=` opens a study, its spec runs on the loaded
// model, and the paper's numbers are drawn beside the run's — a table row per published value
// (computed where this model has the cell, "no layer 9" where it has not) and outlined cells in
// the heatmaps. The tiny model has 2 layers: GPT-2 small's heads are missing here, its
// early-layer cells are not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startServer, repo } from './serve.mjs';
import { executablePath, cpuArgs } from './chromium.mjs';
import fs from 'node:fs';
import path from 'node:path';
import { loadTiny, resultHeight, runSpec } from './page.mjs';
import './views.mjs'; // acts as a user does: opens the view (and fold) of what it touches

/** The result view at 1280 px is at most two screens high. */
async function fitsTwoScreens(page) {
  const { height, screen } = await resultHeight(page);
  assert.ok(height <= 2 * screen, `the result view is ${height} px high at 1280 px (two screens: ${2 * screen} px)`);
}

/** The views on screen (one at a time). */
const shownViews = (page) => page.$$eval('.view', (views) => views.filter((v) => !v.hidden).map((v) => v.dataset.view));

let server;
before(async () => {
  server = await startServer();
});
after(() => server.server.close());

test('a preset opens from its link, runs from its card, and draws the published values beside the computed ones', async () => {
  const browser = await chromium.launch({ executablePath, headless: true, args: cpuArgs });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.app}?preset=ioi-demo`);
    await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
    // A study's link opens the experiment view (the bar marks it); its JSON is one click away.
    assert.deepEqual(await shownViews(page), ['experiment']);
    assert.equal(await page.getAttribute('#sections a[data-view=experiment]', 'aria-current'), 'page');
    assert.equal(await page.$eval('#spec-json', (d) => d.open), false);

    // The link opens the gallery at the study, with its first spec in the editor.
    assert.equal(await page.$eval('#presets', (d) => d.open), true);
    assert.equal(await page.$eval('#preset-ioi-demo', (a) => a.classList.contains('highlighted')), true);
    assert.match(await page.inputValue('#spec-text'), /"logit_lens"/);
    assert.match(await page.textContent('#preset-ioi-demo .claim'), /3\.55/);
    assert.equal(await page.$$eval('.preset', (cards) => cards.length), 13);

    // Run is offered once a model is loaded; it opens the spec and runs it.
    assert.equal(await page.$eval('[data-preset-spec=ioi-activation-patching] .run-spec', (b) => b.disabled), true);
    await loadTiny(page, server.base);
    await page.click('[data-preset-spec=ioi-activation-patching] .run-spec');
    await page.waitForFunction(() => document.querySelector('#experiment-result h3')?.textContent.includes('activation patching')
      && !document.querySelector('#run-experiment').disabled, null, { timeout: 600_000 });
    assert.match(await page.inputValue('#spec-text'), /"activation_patching"/);
    // The run opened the results view, a step back in the browser's history.
    assert.deepEqual(await shownViews(page), ['results']);
    assert.equal(new URL(page.url()).hash, '#results');
    await fitsTwoScreens(page);

    const rows = await page.$$eval('#published-values tbody tr', (trs) => trs.map((tr) => ({
      what: tr.dataset.published, published: tr.dataset.value, computed: tr.dataset.computed, text: tr.textContent,
    })));
    const row = (what) => rows.find((r) => r.what === what) ?? assert.fail(`no row ${what} in ${rows.map((r) => r.what)}`);
    // A metric: the paper's 3.552 beside this run's clean logit difference.
    const clean = await page.getAttribute('[data-metric=clean]', 'data-value');
    assert.equal(row('clean').published, '3.552');
    assert.equal(row('clean').computed, clean);
    // A cell this model has: the table and the outlined heatmap cell agree.
    const s2 = row('patch.resid_pre.normalised layer 0, pos 10');
    assert.equal(s2.published, '1');
    const cell = await page.$eval('table[data-grid="patch.resid_pre.normalised"] td[data-row="0"][data-col="10"]',
      (td) => ({ value: td.dataset.value, published: td.dataset.published, outlined: td.classList.contains('published'), title: td.title }));
    assert.deepEqual([cell.value, cell.published, cell.outlined], [s2.computed, '1', true]);
    assert.match(cell.title, /published 1/);
    // A head GPT-2 small has and this model has not: the published value, and why none is computed.
    const l10h7 = row('patch.attn_head_out_all_pos.normalised L10H7');
    assert.equal(l10h7.published, '-0.48');
    assert.equal(l10h7.computed, '');
    assert.match(l10h7.text, /negative name mover \(this model has no layer 10 \(it has 2\)\)/);
    assert.equal(await page.$$eval('table[data-grid] td.published', (tds) => tds.length), 3, 'resid_pre at S2 in layers 0 and 1, MLP0 at S2');

    // The answer first, written from the numbers on screen: the metric with the paper's value,
    // then the cell that restores most of each patched target, as its figure has it.
    const answer = await page.$$eval('#answer li', (lis) => lis.map((li) => ({ text: li.textContent, grid: li.dataset.finding })));
    const two = (v) => Number(v).toFixed(2).replace('-', '\u2212');
    const corrupted = await page.getAttribute('[data-metric=corrupted]', 'data-value');
    assert.equal(answer[0].text, `Logit difference: ${two(clean)} (published: 3.55) on the clean prompts, ${two(corrupted)} (published: \u22123.55) on the corrupted ones.`);
    const restored = answer.find((a) => a.grid === 'patch.resid_pre.normalised') ?? assert.fail(JSON.stringify(answer));
    const residPre = await page.$$eval('table[data-grid="patch.resid_pre.normalised"] td[data-value]',
      (tds) => tds.map((td) => [Number(td.dataset.value), `layer ${td.dataset.row} at position ${td.dataset.col}`]));
    const [best, where] = residPre.reduce((a, b) => (Math.abs(b[0]) > Math.abs(a[0]) ? b : a));
    assert.ok(restored.text.startsWith(`Patching the residual stream entering each layer: ${where} (`), restored.text);
    assert.ok(restored.text.includes(`recovers ${String(Math.round(100 * best)).replace('-', '\u2212')} % of the effect`), restored.text);
    // One figure at a time: the answer's figure is shown; the list and "see the figure" switch it.
    const visible = () => page.$$eval('.figure-slot', (slots) => slots.filter((s) => !s.hidden).map((s) => s.dataset.slot));
    assert.deepEqual(await visible(), ['patch.resid_pre.normalised']);
    assert.match(await page.textContent('.figure-list button[data-show-grid="patch.attn_head_out_all_pos.normalised"]'),
      /^Patching each head's output \(all positions\), share of the effect restored/);
    await page.click('.figure-list button[data-show-grid="patch.attn_out"]');
    assert.deepEqual(await visible(), ['patch.attn_out']);
    assert.equal(await page.getAttribute('.figure-list button[data-show-grid="patch.attn_out"]', 'aria-pressed'), 'true');
    await page.click('#answer button[data-show-grid="patch.mlp_out.normalised"]');
    assert.deepEqual(await visible(), ['patch.mlp_out.normalised']);
    // Drill down: a head's cell opens its attention pattern on the run's first prompt (causal,
    // each query row a distribution) and the next experiments about it, written into the form.
    await page.click('.figure-list button[data-show-grid="patch.attn_head_out_all_pos.normalised"]');
    await page.click('table[data-grid="patch.attn_head_out_all_pos.normalised"] td[data-row="1"][data-col="2"]');
    await page.waitForSelector('#cell-drill[data-layer="1"][data-head="2"] #pattern-focus[data-layer="1"][data-head="2"]', { timeout: 120_000 });
    const weights = await page.$$eval('#cell-drill #pattern-focus td[data-value]', (tds) => tds.map((td) => [Number(td.dataset.row), Number(td.dataset.col), Number(td.dataset.value)]));
    const tokens = (await page.$$eval('#cell-drill #pattern-focus tbody tr', (trs) => trs.length));
    assert.equal(weights.length, tokens * tokens);
    for (let q = 0; q < tokens; q++) {
      const row = weights.filter(([r]) => r === q);
      assert.ok(Math.abs(row.reduce((sum, [, , w]) => sum + w, 0) - 1) < 1e-5, `row ${q}`);
      assert.ok(row.every(([, k, w]) => k <= q || w === 0), `row ${q} looks ahead`);
    }
    const ran = JSON.parse(await page.inputValue('#spec-text'));
    await page.click('#next-path-k');
    const next = JSON.parse(await page.inputValue('#spec-text'));
    assert.deepEqual(next.experiment.path_patching.receivers, { heads: [[1, 2]], input: 'k' });
    assert.deepEqual([next.prompts.clean, next.prompts.corrupted, next.metric], [ran.prompts.clean, ran.prompts.corrupted, ran.metric]);
    assert.equal(next.published, undefined);
    // The next step is in the editor, on screen; Back returns to the result.
    assert.deepEqual(await shownViews(page), ['experiment']);
    await page.goBack();
    await page.waitForFunction(() => !document.querySelector('#view-results').hidden);
    assert.deepEqual(await shownViews(page), ['results']);
    // A residual-stream cell offers which heads write there and which reach the logits.
    await page.click('.figure-list button[data-show-grid="patch.resid_pre.normalised"]');
    await page.click('table[data-grid="patch.resid_pre.normalised"] td[data-row="1"][data-col="14"]');
    await page.waitForSelector('#cell-drill[data-layer="1"][data-pos="14"]');
    assert.match(await page.textContent('#cell-drill h4'), /^Layer 1 at position 14 \(" to"\)/);
    await page.click('#next-heads-by-position');
    assert.deepEqual(JSON.parse(await page.inputValue('#spec-text')).experiment.activation_patching.targets, ['attn_head_out_by_pos']);

    // The logit lens of the same study: a line by layer with the paper's final value as a
    // diamond, and the heads ranked by direct logit attribution, as the heatmap has them.
    await page.click('[data-preset-spec=ioi-logit-lens] .run-spec');
    await page.waitForFunction(() => document.querySelector('#experiment-result h3')?.textContent.includes('logit lens')
      && !document.querySelector('#run-experiment').disabled, null, { timeout: 600_000 });
    await fitsTwoScreens(page);
    const line = 'figure.line-chart[data-chart="lens.accumulated_resid_ln_cached_logit_diff"]';
    assert.equal(await page.$$eval(`${line} circle`, (c) => c.length), 5, '0_pre, 0_mid, 1_pre, 1_mid, final_post');
    assert.match(await page.$eval(`${line} path.published title`, (t) => t.textContent), /final_post: published 3\.55/);
    const ranked = await page.$$eval('figure.ranked[data-ranked="lens.head_dla_logit_diff"] tr', (trs) => trs.map((tr) => [tr.dataset.bar, Number(tr.dataset.value)]));
    assert.equal(ranked.length, 8);
    for (let i = 1; i < ranked.length; i++) assert.ok(Math.abs(ranked[i - 1][1]) >= Math.abs(ranked[i][1]), 'largest |DLA| first');
    const [top, value] = ranked[0];
    const [, layer, head] = top.match(/^L(\d+)H(\d+)$/);
    const dlaCell = await page.getAttribute(`table[data-grid="lens.head_dla_logit_diff"] td[data-row="${layer}"][data-col="${head}"]`, 'data-value');
    assert.equal(Number(dlaCell), value);

    // The moral direction's steering spec takes the direction its first spec finds: until a
    // run of that spec is on screen or in the history, the card says so and the spec opens
    // with the direction pending (a run explains it).
    const steering = '[data-preset-spec=moral-direction-steering]';
    assert.match(await page.textContent(steering), /steers with the direction moral-direction finds: run that first/);
    await page.click(`${steering} .open-spec`);
    const pending = JSON.parse(await page.inputValue('#spec-text')).experiment.steering.direction;
    assert.deepEqual(pending, { from: 'example:moral-direction' });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('lessons: a Markdown file from this site with runs in it, the bundled IOI lesson (?guide), and bad lessons refused by line', async () => {
  const browser = await chromium.launch({ executablePath, headless: true, args: cpuArgs });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // A course's own lesson, hosted beside the page: each step a button, ticked when done.
    await page.goto(`${server.app}?lesson=${encodeURIComponent('/lessons/tiny.md')}`);
    await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
    assert.deepEqual(await shownViews(page), ['experiment']);
    await page.waitForSelector('#lesson[open]');
    assert.equal(await page.textContent('#lesson > summary'), 'Lesson: A lesson for the tiny model');
    assert.equal(await page.textContent('#lesson p em'), 'logit difference');
    assert.equal(await page.getAttribute('#lesson a[href="#experiment-result"]', 'href'), '#experiment-result');
    assert.equal(await page.isDisabled('.lesson-step[data-step="2"] button'), true, 'no model yet');
    await page.click('.lesson-step[data-step="1"] button');
    await page.waitForSelector('.lesson-step[data-step="1"].done', { timeout: 120_000 });
    await page.click('.lesson-step[data-step="2"] button');
    await page.waitForSelector('.lesson-step[data-step="2"].done', { timeout: 300_000 });
    // The step's answer is the result's, in the lesson.
    const inLesson = await page.$$eval('.lesson-step[data-step="2"] .lesson-answer li', (lis) => lis.map((li) => li.textContent));
    const inResult = await page.$$eval('#answer li', (lis) => lis.map((li) => li.firstChild.textContent));
    assert.ok(inLesson.length >= 2, inLesson.join(' | '));
    assert.deepEqual(inLesson, inResult);
    assert.match(inLesson[1], /^Zero-ablating each head: L\dH\d moves the logit difference most/);
    // A lesson's run leaves the lesson on screen; its link shows the figures.
    assert.deepEqual(await shownViews(page), ['experiment']);
    await page.click('.lesson-step[data-step="2"] a[href="#results"]');
    await page.waitForFunction(() => !document.querySelector('#view-results').hidden);
    assert.deepEqual(await shownViews(page), ['results']);

    // The bundled lesson replaces the first-run guide (its old link opens it).
    await page.goto(`${server.app}?guide&model=${encodeURIComponent(`${server.base}/models/tiny-gpt2/`)}`);
    await page.waitForSelector('#lesson[open]');
    assert.equal(await page.textContent('#lesson > summary'), 'Lesson: Indirect object identification in four steps');
    assert.equal(await page.$$eval('.lesson-step', (steps) => steps.length), 4);
    await page.waitForSelector('.lesson-step[data-kind=load].done', { timeout: 120_000 });
    await page.click('.lesson-step[data-step="3"] button');
    await page.waitForSelector('.lesson-step[data-step="3"].done', { timeout: 300_000 });
    assert.match(await page.textContent('.lesson-step[data-step="3"] .lesson-answer'), /Patching the residual stream entering each layer: layer \d at position \d+/);

    // A lesson that links to script, and one from another host, are refused in words.
    await page.goto(`${server.app}?lesson=${encodeURIComponent('/lessons/bad.md')}`);
    await page.waitForSelector('#lesson-error');
    assert.match(await page.textContent('#lesson-error'), /line 5: a link to a `javascript:` address is not allowed/);
    await page.goto(`${server.app}?lesson=${encodeURIComponent('https://elsewhere.example/lesson.md')}`);
    await page.waitForSelector('#lesson-error');
    assert.match(await page.textContent('#lesson-error'), /a lesson is read from this site, not from elsewhere\.example/);
    assert.equal(await page.$('#lesson'), null);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

/** Runs `use` on a 1280 × 900 page with the test server's model `name` loaded; no page errors. */
async function withModel(name, use) {
  const browser = await chromium.launch({ executablePath, headless: true, args: cpuArgs });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.app);
    await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
    await page.fill('#model-url', `${server.base}/models/${name}/`);
    await page.click('#load-model');
    await page.waitForSelector('#prompt-text', { timeout: 120_000 });
    await use(page);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
}

test('every kind of experiment opens a result at most two screens high at 1280 px (the tiny specs on the tiny model)', async () => {
  await withModel('tiny-gpt2', async (page) => {
    // GeDi needs its discriminator loaded beside the model (app.test.mjs runs it); an SAE spec's
    // SAE is loaded first, from its files, under the id the spec names it by.
    const specs = fs.readdirSync(path.join(repo, 'tests/specs')).filter((f) => f.endsWith('-tiny.json') && !f.startsWith('gedi'));
    assert.ok(specs.length >= 16, specs.join(' '));
    for (const file of specs) {
      const spec = JSON.parse(fs.readFileSync(path.join(repo, 'tests/specs', file), 'utf8'));
      const sae = /"sae":\{"id":"([^"]+)"/.exec(JSON.stringify(spec))?.[1];
      if (sae) {
        const folder = path.join(repo, 'tests/sae/refs', /tiny-sae-(\w+)/.exec(sae)[1]);
        await page.fill('#sae-source', sae);
        await page.setInputFiles('#sae-files', ['cfg.json', 'sae_weights.safetensors'].map((f) => path.join(folder, f)));
        await page.waitForSelector(`#sae-loaded[data-id="${sae}"]`, { timeout: 60_000 });
      }
      await runSpec(page, JSON.stringify({ ...spec, title: file }));
      assert.equal(await page.textContent('#experiment-result h3'), file);
      const { height, screen } = await resultHeight(page);
      assert.ok(height <= 2 * screen, `${file}: the result view is ${height} px high (two screens: ${2 * screen} px)`);
    }
  });
});

test('every bundled example opens a result at most two screens high at 1280 px, on a model of GPT-2 small\'s depth and heads', async () => {
  // Not run here: GeDi's sentiment examples need their discriminator loaded beside the model
  // (app.test.mjs runs GeDi), the moral steering example needs the direction a run of
  // moral-direction finds, and two sweeps of ioi-activation-patching's kind take minutes at
  // GPT-2 small's depth on the CPU (measured once: colored-objects 1,149 px, mcq-anchored 1,305 px).
  const skipped = ['gedi-sentiment-negative', 'gedi-sentiment-positive', 'moral-direction-steering', 'colored-objects-head-patching', 'mcq-anchored-patching'];
  await withModel('narrow', async (page) => {
    const examples = fs.readdirSync(path.join(repo, 'static/experiments')).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
    assert.ok(examples.length >= 36, examples.join(' '));
    const heights = [];
    for (const name of examples.filter((e) => !skipped.includes(e))) {
      const spec = JSON.parse(fs.readFileSync(path.join(repo, 'static/experiments', `${name}.json`), 'utf8'));
      await runSpec(page, JSON.stringify({ ...spec, title: name }));
      assert.equal(await page.textContent('#experiment-result h3'), name);
      const { height, screen } = await resultHeight(page);
      heights.push(`${name} ${height}`);
      assert.ok(height <= 2 * screen, `${name}: the result view is ${height} px high (two screens: ${2 * screen} px)`);
    }
    console.log(`result view heights at 1280 × 900: ${heights.join(', ')}`);
  });
});
