// A shared link as an attacker would write it (SECURITY.md): each opens in a fresh browser and
// ends in a question or a refusal in words, never a crash and never a silent fetch from a host
// other than the page's and the hub's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';
import { startServer, repo } from './serve.mjs';
import { executablePath, cpuArgs } from './chromium.mjs';
import './views.mjs'; // acts as a user does: opens the view (and fold) of what it touches

const example = (name) => JSON.parse(fs.readFileSync(path.join(repo, `static/experiments/${name}.json`), 'utf8'));

/** The fragment of a share link: `#model=…&spec=<base64url of the raw-deflated JSON>`. */
function fragment(spec, model) {
  const packed = zlib.deflateRawSync(Buffer.from(JSON.stringify(spec))).toString('base64url');
  return `#model=${encodeURIComponent(model)}&spec=${packed}`;
}

let server;
let other;
before(async () => {
  server = await startServer();
  other = await startServer(); // another origin: another port
});
after(() => {
  server.server.close();
  other.server.close();
});

/** A fresh browser on the CPU fallback with `url` open; page errors and panics collected. */
async function open(url) {
  const browser = await chromium.launch({ executablePath, headless: true, args: cpuArgs });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (/panicked/.test(m.text())) errors.push(m.text());
  });
  await page.goto(url);
  await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
  return { browser, page, errors };
}

async function alive(page, errors) {
  assert.equal(await page.evaluate(() => 6 * 7), 42, 'the tab still answers');
  assert.equal(await page.$('#fatal-error'), null, 'no panic banner');
  assert.deepEqual(errors, []);
}

test('a link naming a model on another host asks "Load model from host?" and fetches nothing until the click', async () => {
  const link = `${server.app}${fragment(example('ioi-logit-lens'), `${other.base}/models/tiny-gpt2/`)}`;
  const { browser, page, errors } = await open(link);
  try {
    await page.waitForSelector('#load-ask', { timeout: 60_000 });
    assert.match(await page.textContent('#load-ask-question'), new RegExp(`Load model from ${other.base.replace(/[.]/g, '\\.')}\\?`));
    await page.waitForTimeout(1500);
    assert.deepEqual(other.requests, [], 'the other host heard nothing before the click');
    assert.equal(await page.$('#experiment-result'), null);

    await page.click('#load-ask-yes');
    await page.waitForSelector('#experiment-result', { timeout: 120_000 });
    assert.ok(other.requests.some((p) => p.endsWith('/models/tiny-gpt2/model.safetensors')), 'loaded from the host the user accepted');
    await alive(page, errors);
  } finally {
    await browser.close();
  }
});

test('"Don\'t load" leaves the page without a model and the other host untouched; the page\'s own models load without a question', async () => {
  other.requests.length = 0;
  const { browser, page, errors } = await open(`${server.app}?model=${encodeURIComponent(`${other.base}/models/tiny-gpt2/`)}&run`);
  try {
    await page.waitForSelector('#load-ask', { timeout: 60_000 });
    await page.click('#load-ask-no');
    await page.waitForFunction(() => /Not loaded/.test(document.querySelector('#load-status')?.textContent ?? ''));
    assert.deepEqual(other.requests, []);
    assert.equal(await page.$('#load-ask'), null);
  } finally {
    await browser.close();
  }
  const own = await open(`${server.app}?model=${encodeURIComponent('/models/tiny-gpt2/')}`);
  try {
    await own.page.waitForSelector('#prompt-text', { timeout: 120_000 });
    assert.equal(await own.page.$('#load-ask'), null, 'no question for the page\'s own origin');
    await alive(own.page, own.errors);
  } finally {
    await own.browser.close();
  }
  assert.deepEqual(errors, []);
});

test('a link that expands to tens of thousands of prompts is refused in words before anything runs; the tab lives', async () => {
  // A logit lens over 12,000 prompts of 60 characters: a link of a few kilobytes.
  const spec = example('ioi-logit-lens');
  const n = 12_000;
  const text = 'When John and Mary went to the shops, John gave the bag to a';
  spec.prompts = { clean: Array(n).fill(text), answers: Array(n).fill([0, 1]) };
  const link = `${server.app}${fragment(spec, `${server.base}/models/tiny-gpt2/`)}`;
  assert.ok(link.length < 20_000, `a small link (${link.length} characters)`);
  const { browser, page, errors } = await open(link);
  try {
    await page.waitForSelector('#experiment-error', { timeout: 300_000 });
    const said = await page.textContent('#experiment-error');
    assert.match(said, /12000 prompts/);
    assert.match(said, /GiB/);
    await alive(page, errors);
  } finally {
    await browser.close();
  }
});

test('?hub= that is not an https origin is refused and stays out of the security policy', async () => {
  const hostile = 'https://evil.example; script-src * \'unsafe-inline\'';
  const { browser, page, errors } = await open(`${server.app}?hub=${encodeURIComponent(hostile)}`);
  try {
    await page.waitForSelector('#hub-problem');
    assert.match(await page.textContent('#hub-problem'), /not a hub address.*using https:\/\/huggingface\.co/);
    const policy = await page.evaluate(() => document.querySelector('meta[http-equiv=Content-Security-Policy]').content);
    assert.doesNotMatch(policy, /evil|script-src \*/);
    assert.match(policy, /script-src 'self' 'wasm-unsafe-eval';/);
    await alive(page, errors);
  } finally {
    await browser.close();
  }
});

test('a link whose published source is a javascript: URL is refused by name', async () => {
  const spec = example('ioi-logit-lens');
  spec.published = { source: 'a paper', url: 'javascript:alert(document.domain)', values: [] };
  const { browser, page, errors } = await open(`${server.app}${fragment(spec, `${server.base}/models/tiny-gpt2/`)}`);
  try {
    await page.waitForSelector('#share-error');
    assert.match(await page.textContent('#share-error'), /published\.url.*http/);
    assert.equal(await page.$('a[href^="javascript:"]'), null);
    await alive(page, errors);
  } finally {
    await browser.close();
  }
});
