// Runs the app's Benchmark panel (`?bench&run`) in headless Chromium on the release build in
// dist/ and prints its report as JSON: `node bench/browser.mjs cpu|webgpu WORKLOADS [REPS]`.
// The CPU fallback is Chromium without WebGPU; `webgpu` is SwiftShader here (a real GPU where
// the machine has one and Chromium is started without the SwiftShader flags: PATCHBAY_GPU=1).
// PATCHBAY_BENCH_SHAPE=narrow benchmarks GPT-2 small's depth at width 48 (the same launches).
// On WebGPU both libraries' last run of each workload is counted (dispatches, uploads,
// read-backs, pipelines: src/ui/gpu.js's wrappers, injected into transformers.js's page too).
// `node bench/browser.mjs tjs-cpu|tjs-webgpu MODEL_DIR [REPS]` runs transformers.js instead
// (bench/tjs/, the model from bench/tjs/export.py) in the same browser.
// `node bench/browser.mjs first-cpu|first-webgpu [ioi|ioi-resid-pre]` times a returning user's
// visit with a GPT-2-small-shaped model (random f16 weights served from loopback, in the
// browser's cache from a first visit): opening the page to the first top-k (and, with `ioi`,
// to the finished IOI patching example; `ioi-resid-pre`: its resid_pre grid only), with a
// breakdown and the worker's peak WebAssembly memory.
// `node bench/browser.mjs sae-cpu|sae-webgpu` loads GPT-2 small's shape, then an SAE of
// gpt2-small-res-jb's shape (151 MB of f32, random) in the Features view: the SAE's load time,
// the longest gap between the page's animation frames meanwhile, and one prompt's features.
// `node bench/browser.mjs pool-cpu|pool-webgpu [small|narrow] [WORKERS,...]` times the IOI
// patching example's resid_pre sweep with its cells shared among 1, 2, 4... workers (each its
// own copy of the model, loaded from the browser's cache): each pool's first run (its new
// workers load the model) and a second run, and the speed-up of the second against one worker.
import { chromium } from '../tests/e2e/node_modules/playwright-core/index.mjs';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startServer, repo } from '../tests/e2e/serve.mjs';

const [kind = 'cpu', workloads = 'forward', reps = '3'] = process.argv.slice(2);
const tjs = kind.startsWith('tjs-');
const first = kind.startsWith('first-');
const pooled = kind.startsWith('pool-');
const saeLoad = kind.startsWith('sae-');
const common = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const args = {
  cpu: [...common, '--disable-gpu', '--disable-features=WebGPU'],
  webgpu: process.env.PATCHBAY_GPU
    ? [...common, '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--ignore-gpu-blocklist']
    : [...common, '--enable-unsafe-webgpu', '--ignore-gpu-blocklist', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-angle=swiftshader'],
}[tjs ? kind.slice(4) : first ? kind.slice(6) : pooled ? kind.slice(5) : saeLoad ? kind.slice(4) : kind];
if (!args) throw new Error(`unknown device kind ${kind}: cpu or webgpu`);

/** The release build, under the public URL dist/ was built for (`ci/dist --public-url`). */
async function patchbay() {
  const html = fs.readFileSync(`${process.env.PATCHBAY_DIST ?? `${repo}/dist`}/index.html`, 'utf8');
  const prefix = /href="([^"]*)patchbay-web-[0-9a-f]{12,16}\.js"/.exec(html)?.[1] ?? '/';
  return startServer({ prefix });
}

/** bench/tjs's page, the library and ONNX Runtime Web at /lib/, the exported model at /models/gpt2-random/. */
async function transformersJs(modelDir) {
  const here = path.join(repo, 'bench/tjs');
  const roots = [path.join(here, 'node_modules/@huggingface/transformers/dist'), path.join(here, 'node_modules/onnxruntime-web/dist')];
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
  const server = http.createServer((req, res) => {
    const { pathname } = new URL(req.url, 'http://localhost');
    const candidates = pathname.startsWith('/lib/')
      ? roots.map((root) => path.join(root, pathname.slice(5)))
      : pathname.startsWith('/models/gpt2-random/')
        ? [path.join(path.resolve(modelDir), pathname.slice('/models/gpt2-random/'.length))]
        : [path.join(here, pathname.slice(1))];
    const file = candidates.find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
    if (!file) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${server.address().port}` };
}

/** Puts `text` in the spec editor (which sits folded in the Experiment view) as typing would. */
function setSpec(page, text) {
  return page.evaluate((json) => {
    const editor = document.querySelector('#spec-text');
    editor.value = json;
    editor.dispatchEvent(new Event('input', { bubbles: true }));
  }, text);
}

/**
 * A returning user's visit, measured from navigation: the app shell and the model's files are
 * in the browser's caches from a first visit in the same profile.
 */
async function firstResult(context, site, withIoi) {
  const model = `${site.base}/models/small/`;
  const url = `${site.app}?model=${encodeURIComponent(model)}`;
  let page = await context.newPage();
  await page.goto(url);
  await page.waitForSelector('#prompt-text', { state: 'attached', timeout: 0 });
  await page.close();

  page = await context.newPage();
  const now = () => page.evaluate(() => performance.now());
  await page.goto(url);
  await page.waitForSelector('#device[data-state=ready]', { timeout: 0 });
  const ready = await now();
  const wasm = await page.evaluate(() => {
    const entry = performance.getEntriesByType('resource').find((e) => e.name.endsWith('_bg.wasm'));
    return entry && { start: entry.startTime, end: entry.responseEnd, transferred: entry.transferSize };
  });
  await page.waitForSelector('#prompt-text', { state: 'attached', timeout: 0 });
  const loaded = await now();
  const status = await page.textContent('#load-status');
  const steps = JSON.parse((await page.getAttribute('#load-status', 'data-timings')) || '[]');
  await page.click('#sections a[data-view=prompt]');
  await page.click('#run-prompt');
  await page.waitForFunction(() => document.querySelectorAll('#top-k tbody tr').length === 10, null, { timeout: 0 });
  const topK = await now();
  let ioi = null;
  if (withIoi) {
    if (withIoi === 'ioi-resid-pre') {
      // The example's headline grid only (its head-by-position target alone is 2160 cells).
      const spec = JSON.parse(await page.inputValue('#spec-text'));
      spec.experiment.activation_patching.targets = ['resid_pre'];
      await setSpec(page, JSON.stringify(spec));
    }
    await page.click('#run-experiment');
    await page.waitForSelector('#experiment-result', { timeout: 0 });
    ioi = await now();
  }
  return {
    model: "GPT-2 small's shape, random f16 weights (249 MB), from the browser's cache",
    device: await page.getAttribute('#device', 'data-backend'),
    memory_mb: Number(/memory peaked at (\d+) MiB/.exec(status)?.[1] ?? NaN),
    parameters_f32_mb: (124_439_808 * 4) / 1048576,
    ms: {
      app_download: wasm ? wasm.end : null,
      wasm_compile_and_start: wasm ? ready - wasm.end : ready,
      ...Object.fromEntries(steps),
      loaded_to_first_top_k: topK - loaded,
      ...(ioi ? { first_top_k_to_ioi_example: ioi - topK } : {}),
    },
    first_top_k_ms: topK,
    ioi_example_ms: ioi,
    app_from_cache: wasm ? wasm.transferred === 0 : null,
  };
}

/** Peak resident memory (VmHWM, MiB) of each renderer process of the browsers this script
 * started (Linux): a tab's page and its workers live in one. */
function rendererPeaksMiB() {
  const root = process.pid;
  const parent = (pid) => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]);
  const descends = (pid) => {
    for (let p = pid; p > 1; p = parent(p)) if (p === root) return true;
    return false;
  };
  const peaks = [];
  for (const entry of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const pid = Number(entry);
      if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer') || !descends(pid)) continue;
      const kb = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (kb) peaks.push(Number(kb) / 1024);
    } catch {
      // A process that ended meanwhile.
    }
  }
  return peaks;
}

/** Watches the page's animation frames: `stop()` resolves to the longest gap, in ms. */
async function watchFrames(page) {
  await page.evaluate(() => {
    const gaps = (window.frameGaps = { longest: 0, running: true });
    let last = performance.now();
    const tick = (now) => {
      gaps.longest = Math.max(gaps.longest, now - last);
      last = now;
      if (gaps.running) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  return {
    stop: () => page.evaluate(() => {
      window.frameGaps.running = false;
      return window.frameGaps.longest;
    }),
  };
}

/** The IOI example's resid_pre sweep on `model`, with its cells shared among each count of
 * `pools` workers in turn (one page, so that a pool's workers stay for its second run). */
async function poolSpeedUp(page, site, model, pools) {
  await page.goto(`${site.app}?model=${encodeURIComponent(`${site.base}/models/${model}/`)}`);
  await page.waitForSelector('#prompt-text', { state: 'attached', timeout: 0 });
  const status = await page.textContent('#load-status');
  const spec = JSON.parse(fs.readFileSync(path.join(repo, 'static/experiments/ioi-activation-patching.json'), 'utf8'));
  spec.experiment.activation_patching.targets = ['resid_pre'];
  await setSpec(page, JSON.stringify(spec));
  const run = async () => {
    const before = await page.$eval('#experiment-result', (e) => e.dataset.runId).catch(() => null);
    // The longest gap between the page's animation frames while the pool works.
    const frames = await watchFrames(page);
    const started = await page.evaluate(() => performance.now());
    await page.click('#run-experiment');
    await page.waitForFunction((previous) => {
      const id = document.querySelector('#experiment-result')?.dataset.runId;
      return (id && id !== previous) || document.querySelector('#experiment-error');
    }, before, { timeout: 0 });
    const error = await page.$('#experiment-error');
    if (error) throw new Error(await error.textContent());
    const ms = (await page.evaluate(() => performance.now())) - started;
    longestFrameGap = Math.max(longestFrameGap, await frames.stop());
    return ms;
  };
  let longestFrameGap = 0;
  const runs = [];
  for (const workers of pools) {
    await page.selectOption('#workers', String(workers));
    // One worker holds the model already: its first run is a steady one.
    const first = await run();
    const second = workers === 1 ? first : await run();
    runs.push({
      workers, first_run_ms: first, second_run_ms: second, longest_frame_gap_ms: longestFrameGap,
      // The tab's renderer (the page and every worker) at its peak so far.
      renderer_peak_mb: Math.max(...rendererPeaksMiB()),
    });
    longestFrameGap = 0;
    process.stderr.write(`${workers} worker(s): ${(first / 1e3).toFixed(1)} s, then ${(second / 1e3).toFixed(1)} s\n`);
  }
  const one = runs.find((r) => r.workers === 1)?.second_run_ms;
  return {
    model,
    sweep: 'ioi-activation-patching, resid_pre',
    device: await page.getAttribute('#device', 'data-backend'),
    cores: await page.evaluate(() => navigator.hardwareConcurrency),
    device_memory_gib: await page.evaluate(() => navigator.deviceMemory ?? null),
    parameters_f32_mb: model === 'small' ? (124_439_808 * 4) / 1048576 : null,
    memory_mb: Number(/memory peaked at (\d+) MiB/.exec(status)?.[1] ?? NaN),
    runs: runs.map((r) => ({ ...r, speed_up: one ? one / r.second_run_ms : null })),
  };
}

/** GPT-2 small's shape loaded, then a gpt2-small-res-jb-shaped SAE beside it; its features. */
async function saeLoading(page, site) {
  await page.goto(`${site.app}?model=${encodeURIComponent(`${site.base}/models/small/`)}`);
  await page.waitForSelector('#prompt-text', { state: 'attached', timeout: 0 });
  await page.click('#sections a[data-view=features]');
  await page.fill('#sae-source', `${site.base}/saes/small/`);
  const frames = await watchFrames(page);
  const started = await page.evaluate(() => performance.now());
  await page.click('#sae-load');
  await page.waitForSelector('#sae-loaded, #sae-load-error', { timeout: 0 });
  const error = await page.$('#sae-load-error');
  if (error) throw new Error(await error.textContent());
  const load = (await page.evaluate(() => performance.now())) - started;
  const loadGap = await frames.stop();
  // A 20-token prompt's features (the bench panel's prompt length; here text).
  await page.fill('#sae-prompt', 'The quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat by the');
  const run = await watchFrames(page);
  const runStarted = await page.evaluate(() => performance.now());
  await page.click('#sae-run');
  await page.waitForSelector('#sae-summary, #sae-run-error', { timeout: 0 });
  const runError = await page.$('#sae-run-error');
  if (runError) throw new Error(await runError.textContent());
  const features = (await page.evaluate(() => performance.now())) - runStarted;
  return {
    model: 'small', sae: "gpt2-small-res-jb's shape, 24576 features, f32 (151 MB)",
    device: await page.getAttribute('#device', 'data-backend'),
    sae_load_ms: load, longest_frame_gap_during_load_ms: loadGap,
    features_ms: features, longest_frame_gap_during_features_ms: await run.stop(),
    tokens: await page.$$eval('.sae-token', (t) => t.length),
    renderer_peak_mb: Math.max(...rendererPeaksMiB()),
  };
}

const site = tjs ? await transformersJs(workloads) : await patchbay();
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args });
try {
  if (saeLoad) {
    process.stdout.write(`${JSON.stringify(await saeLoading(await browser.newPage(), site))}\n`);
  } else if (pooled) {
    const pools = (reps === '3' ? '1,2,4' : reps).split(',').map(Number);
    const report = await poolSpeedUp(await browser.newPage(), site, workloads === 'forward' ? 'narrow' : workloads, pools);
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else if (first) {
    const report = await firstResult(await browser.newContext(), site, workloads.startsWith('ioi') && workloads);
    report.ioi_example = workloads.startsWith('ioi') ? workloads : null;
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    const page = await browser.newPage();
    const status = tjs ? '#status' : '#bench-status';
    const progress = setInterval(async () => {
      const text = await page.textContent(status).catch(() => '');
      if (text) process.stderr.write(`${kind}: ${text}\n`);
    }, 30_000);
    if (tjs) {
      // The WebGPU calls counted by Patchbay's own wrappers (ES module syntax dropped: an init
      // script is a classic script), so that both libraries are counted alike.
      const counters = fs.readFileSync(path.join(repo, 'src/ui/gpu.js'), 'utf8').replace(/^export /gm, '');
      await page.addInitScript({ content: `${counters}\ninstallGpuCallCounters();\nglobalThis.patchbayGpuCalls = gpuCalls;\n` });
      await page.goto(`${site.base}/bench.html?device=${kind === 'tjs-cpu' ? 'wasm' : 'webgpu'}&reps=${reps}`);
      await page.waitForSelector('body[data-report], body[data-error]', { timeout: 0 });
      const error = await page.getAttribute('body', 'data-error');
      if (error) throw new Error(error);
      process.stdout.write(`${await page.getAttribute('body', 'data-report')}\n`);
    } else {
      const shape = process.env.PATCHBAY_BENCH_SHAPE ? `&shape=${process.env.PATCHBAY_BENCH_SHAPE}` : '';
      await page.goto(`${site.app}?bench&run&workloads=${workloads}&reps=${reps}${shape}`);
      await page.waitForSelector('#bench-result, #bench-error', { timeout: 0 });
      const error = await page.$('#bench-error');
      if (error) throw new Error(await error.textContent());
      process.stdout.write(`${await page.getAttribute('#bench-result', 'data-report')}\n`);
    }
    clearInterval(progress);
  }
} finally {
  await browser.close();
  site.server.close();
}
