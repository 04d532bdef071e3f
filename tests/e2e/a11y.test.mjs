// Accessibility and layout, checked by tools in a real browser: axe-core on every view of the
// page, light and dark, and the embed (no serious or critical violation), at 768 px tablet and
// 360 px phone widths with nothing wider than the screen, and screenshots of each at phone,
// tablet and desktop widths (docs/screenshots/, linked from the README).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { startServer, repo } from './serve.mjs';
import { executablePath, cpuArgs } from './chromium.mjs';
import './views.mjs'; // acts as a user does: opens the view (and fold) of what it touches

const shots = path.join(repo, 'docs/screenshots');
const axeSource = path.join(repo, 'tests/e2e/node_modules/axe-core/axe.min.js');

/** The page's views, in the bar's order. */
const VIEWS = ['model', 'prompt', 'generation', 'features', 'experiment', 'results', 'history'];

let server;
before(async () => {
  server = await startServer();
  fs.mkdirSync(shots, { recursive: true });
});
after(() => server.server.close());

/** axe-core's serious and critical violations on the page as it is now. */
async function violations(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: axeSource });
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`);
  });
  return found;
}

/** The widest element sticking out of a `width`-px page, if any. */
async function overflow(page, width) {
  return page.evaluate((width) => {
    if (document.documentElement.scrollWidth <= width) return null;
    const wide = [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > width + 1 && getComputedStyle(e).position !== 'fixed')
      .filter((e) => !e.closest('figure.grid, figure.scatter, figure.edge-graph, .pattern-row, table, pre, textarea'));
    return `page ${document.documentElement.scrollWidth}px wide; e.g. ${wide.slice(0, 4).map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${e.className}`).join(', ')}`;
  }, width);
}

/** Checks the page in `state` at three widths: axe, no sideways scrolling on a tablet or a phone, screenshots. */
async function check(page, state, problems) {
  for (const [name, width, height] of [['desktop', 1280, 900], ['tablet', 768, 1024], ['phone', 360, 740]]) {
    await page.setViewportSize({ width, height });
    for (const v of await violations(page)) problems.push(`${state} at ${name} width: ${v}`);
    if (name !== 'desktop') {
      const wide = await overflow(page, width);
      if (wide) problems.push(`${state} at ${width} px: ${wide}`);
    }
    await page.screenshot({ path: path.join(shots, `${name}-${state}.png`), fullPage: true });
  }
}

test('every page state passes axe-core and fits a 768 px tablet and a 360 px phone; screenshots at three widths', async () => {
  const browser = await chromium.launch({ executablePath, headless: true, args: cpuArgs });
  const problems = [];
  try {
    // axe is injected as a script: the app's Content-Security-Policy (tested elsewhere) would refuse it.
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    const page = await context.newPage();
    await page.emulateMedia({ colorScheme: 'light' });
    await page.goto(server.app);
    await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
    await check(page, 'start', problems);

    await page.fill('#model-url', `${server.base}/models/tiny-gpt2/`);
    await page.click('#load-model');
    await page.waitForSelector('#prompt-text', { timeout: 120_000 });
    await page.click('#run-prompt');
    await page.waitForFunction(() => document.querySelectorAll('#top-k tbody tr').length === 10, null, { timeout: 180_000 });
    await page.click('#presets > summary');
    await page.click('[data-preset-spec=ioi-activation-patching] .run-spec');
    await page.waitForSelector('#published-values', { timeout: 300_000, state: 'attached' });
    await page.click('#presets > summary'); // folded again: the experiment view as it opens

    // Every view, as the bar opens it, in both themes.
    for (const view of VIEWS) {
      await page.click(`#sections a[data-view=${view}]`);
      await page.waitForFunction((v) => !document.querySelector(`#view-${v}`).hidden, view);
      for (const scheme of ['light', 'dark']) {
        await page.emulateMedia({ colorScheme: scheme });
        await check(page, `${view}-${scheme}`, problems);
      }
    }
    await page.emulateMedia({ colorScheme: 'light' });

    await page.goto(`${server.app}?embed&example=ioi-logit-lens`);
    await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
    await check(page, 'embed', problems);
  } finally {
    await browser.close();
  }
  assert.deepEqual(problems, []);
});

/** Presses Tab until `selector` has the focus (a keyboard user's way there). */
async function tabTo(page, selector, limit = 400) {
  for (let i = 0; i < limit; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return;
    await page.keyboard.press('Tab');
  }
  assert.fail(`${selector} is not reachable with Tab`);
}

test('keyboard only: load a model, open a published study, run it, read the result', async () => {
  const browser = await chromium.launch({ executablePath, headless: true, args: cpuArgs });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(server.app);
    await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
    await tabTo(page, '#model-url');
    await page.keyboard.press('Control+A');
    await page.keyboard.type(`${server.base}/models/tiny-gpt2/`);
    await tabTo(page, '#load-model');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /2 layers × 4 heads/.test(document.querySelector('#status-model').textContent), null, { timeout: 120_000 });

    // The views' bar: each link in turn with Tab, Enter opens its view, alone on screen.
    for (const view of VIEWS) {
      await tabTo(page, `#sections a[data-view=${view}]`);
      await page.keyboard.press('Enter');
      await page.waitForFunction((v) => [...document.querySelectorAll('.view')].every((e) => e.hidden === (e.dataset.view !== v)), view);
      assert.equal(await page.getAttribute(`#sections a[data-view=${view}]`, 'aria-current'), 'page');
    }
    await tabTo(page, '#sections a[data-view=experiment]');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => !document.querySelector('#view-experiment').hidden);

    await tabTo(page, '#presets > summary');
    await page.keyboard.press('Enter');
    await tabTo(page, '[data-preset-spec=ioi-knockout-heads-at-end] .run-spec');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#experiment-result h3')?.textContent.includes('knock out')
      && !document.querySelector('#run-experiment').disabled, null, { timeout: 300_000 });
    // The result's figures take the focus (wide ones scroll with the arrow keys).
    await tabTo(page, 'figure.grid[data-figure="ablate.zero_head_z"]');
    assert.equal(await page.$$eval('#published-values tbody tr', (rows) => rows.length), 2);
    // Inside a heatmap the arrow keys move from cell to cell; the cell in focus is read out.
    const cell = (r, c) => `table[data-grid="ablate.zero_head_z"] td[data-row="${r}"][data-col="${c}"]`;
    await tabTo(page, cell(0, 0));
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    assert.ok(await page.evaluate((s) => document.activeElement.matches(s), cell(1, 1)), 'ArrowRight, ArrowDown: cell 1,1');
    const title = await page.getAttribute(cell(1, 1), 'title');
    assert.match(title, /^layer L1, head H1: -?\d/);
    assert.equal(await page.textContent('figure.grid[data-figure="ablate.zero_head_z"] .readout'), title);
    await page.keyboard.press('End');
    assert.ok(await page.evaluate((s) => document.activeElement.matches(s), cell(1, 3)), 'End: the row\'s last cell');
    // The cell size slider enlarges the heatmaps (GPT-2 medium's 24 layers shrink to fit).
    const width = () => page.$eval(cell(0, 0), (td) => td.getBoundingClientRect().width);
    const before = await width();
    await page.fill('input[data-zoom="ablate.zero_head_z"]', '200');
    assert.ok((await width()) > 1.5 * before, `cells grow with the zoom (${before} px → ${await width()} px)`);
    // Tab leaves the heatmap: it is one stop, the cell last focused.
    assert.deepEqual(await page.$$eval('table[data-grid="ablate.zero_head_z"] td[tabindex="0"]', (tds) => tds.map((td) => `${td.dataset.row},${td.dataset.col}`)), ['1,3']);
  } finally {
    await browser.close();
  }
});
