// Runs the app's Benchmark panel (`?bench&run`) in headless Chromium on the release build in
// dist/ and prints its report as JSON: `node bench/browser.mjs cpu|webgpu WORKLOADS [REPS]`.
// The CPU fallback is Chromium without WebGPU; `webgpu` is SwiftShader here (a real GPU where
// the machine has one and Chromium is started without the SwiftShader flags: PATCHBAY_GPU=1).
// `node bench/browser.mjs tjs-cpu|tjs-webgpu MODEL_DIR [REPS]` runs transformers.js instead
// (bench/tjs/, the model from bench/tjs/export.py) in the same browser.
import { chromium } from '../tests/e2e/node_modules/playwright-core/index.mjs';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { startServer, repo } from '../tests/e2e/serve.mjs';

const [kind = 'cpu', workloads = 'forward', reps = '3'] = process.argv.slice(2);
const tjs = kind.startsWith('tjs-');
const common = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const args = {
  cpu: [...common, '--disable-gpu', '--disable-features=WebGPU'],
  webgpu: process.env.PATCHBAY_GPU
    ? [...common, '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--ignore-gpu-blocklist']
    : [...common, '--enable-unsafe-webgpu', '--ignore-gpu-blocklist', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-angle=swiftshader'],
}[tjs ? kind.slice(4) : kind];
if (!args) throw new Error(`unknown device kind ${kind}: cpu or webgpu`);

/** The release build, under the public URL dist/ was built for (`ci/dist --public-url`). */
async function patchbay() {
  const html = fs.readFileSync(`${process.env.PATCHBAY_DIST ?? `${repo}/dist`}/index.html`, 'utf8');
  const prefix = /href="([^"]*)patchbay-web-[0-9a-f]{16}\.js"/.exec(html)?.[1] ?? '/';
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

const site = tjs ? await transformersJs(workloads) : await patchbay();
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args });
try {
  const page = await browser.newPage();
  const status = tjs ? '#status' : '#bench-status';
  const progress = setInterval(async () => {
    const text = await page.textContent(status).catch(() => '');
    if (text) process.stderr.write(`${kind}: ${text}\n`);
  }, 30_000);
  if (tjs) {
    await page.goto(`${site.base}/bench.html?device=${kind === 'tjs-cpu' ? 'wasm' : 'webgpu'}&reps=${reps}`);
    await page.waitForSelector('body[data-report], body[data-error]', { timeout: 0 });
    const error = await page.getAttribute('body', 'data-error');
    if (error) throw new Error(error);
    process.stdout.write(`${await page.getAttribute('body', 'data-report')}\n`);
  } else {
    await page.goto(`${site.app}?bench&run&workloads=${workloads}&reps=${reps}`);
    await page.waitForSelector('#bench-result, #bench-error', { timeout: 0 });
    const error = await page.$('#bench-error');
    if (error) throw new Error(await error.textContent());
    process.stdout.write(`${await page.getAttribute('#bench-result', 'data-report')}\n`);
  }
  clearInterval(progress);
} finally {
  await browser.close();
  site.server.close();
}
