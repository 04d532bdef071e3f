// The page stays responsive while the model works: the frame gaps of a tab in which a wide
// model loads, runs a prompt and a patching sweep on the CPU backend. Alone in its file, so that
// `ci/test` runs it with no other browser on the machine (a second one on two cores would
// disturb the frame timing it asserts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, repo } from './serve.mjs';
import { chromium } from 'playwright-core';
import { executablePath, cpuArgs } from './chromium.mjs';
import './views.mjs'; // acts as a user does: opens the view (and fold) of what it touches

let server;
before(async () => {
  server = await startServer();
});
after(() => server.server.close());

/** A tab on the CPU backend (no WebGPU) with the app open and its device chosen. */
async function openCpu() {
  const browser = await chromium.launch({ executablePath, headless: true, args: cpuArgs });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(server.app);
  await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
  return { browser, page, errors };
}

/** Records the longest gap between animation frames from now on; call the result to stop. */
async function watchFrames(page) {
  await page.evaluate(() => {
    const gaps = (window.frameGaps = { longest: 0, frames: 0, running: true });
    let last = performance.now();
    const tick = (now) => {
      gaps.longest = Math.max(gaps.longest, now - last);
      gaps.frames++;
      last = now;
      if (gaps.running) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  return () => page.evaluate(() => {
    window.frameGaps.running = false;
    return window.frameGaps;
  });
}

test('the page never freezes: no frame gap over 100 ms while GPT-2 small\'s width loads, runs a prompt and a patching sweep on the CPU', async () => {
  const { browser, page, errors } = await openCpu();
  try {
    const stop = await watchFrames(page);
    await page.fill('#model-url', `${server.base}/models/wide/`);
    await page.click('#load-model');
    await page.waitForSelector('#prompt-text', { timeout: 300_000 });
    await page.click('#run-prompt');
    await page.waitForSelector('#attention[data-layers-shown="1"]', { timeout: 300_000 });
    // The example's eight IOI pairs, resid_pre and mlp_out: 30 cells, batches of GPT-2 small's width.
    const spec = JSON.parse(fs.readFileSync(path.join(repo, 'static/experiments/ioi-activation-patching.json'), 'utf8'));
    spec.experiment.activation_patching.targets = ['resid_pre', 'mlp_out'];
    await page.fill('#spec-text', JSON.stringify(spec));
    const started = Date.now();
    await page.click('#run-experiment');
    await page.waitForSelector('#experiment-progress');
    await page.waitForSelector('#experiment-result', { timeout: 600_000 });
    const sweepMs = Date.now() - started;
    const gaps = await stop();
    console.log(`wide model on the CPU: sweep ${sweepMs} ms; ${gaps.frames} frames, longest gap ${gaps.longest.toFixed(0)} ms`);
    assert.ok(sweepMs > 2000, `the work is long enough to freeze a page that did it itself (${sweepMs} ms)`);
    assert.ok(gaps.longest <= 100, `the longest gap between frames was ${gaps.longest.toFixed(0)} ms`);
    assert.equal(await page.getAttribute('#experiment-result', 'data-device'), 'cpu');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

