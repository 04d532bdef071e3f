// Runs the app's Benchmark panel (`?bench&run`) in headless Chromium on the release build in
// dist/ and prints its report as JSON: `node bench/browser.mjs cpu|webgpu WORKLOADS [REPS]`.
// The CPU fallback is Chromium without WebGPU; `webgpu` is SwiftShader here (a real GPU where
// the machine has one and Chromium is started without the SwiftShader flags: PATCHBAY_GPU=1).
import { chromium } from '../tests/e2e/node_modules/playwright-core/index.mjs';
import fs from 'node:fs';
import { startServer, repo } from '../tests/e2e/serve.mjs';

const [kind = 'cpu', workloads = 'forward', reps = '3'] = process.argv.slice(2);
const common = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const args = {
  cpu: [...common, '--disable-gpu', '--disable-features=WebGPU'],
  webgpu: process.env.PATCHBAY_GPU
    ? [...common, '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--ignore-gpu-blocklist']
    : [...common, '--enable-unsafe-webgpu', '--ignore-gpu-blocklist', '--enable-features=Vulkan', '--use-vulkan=swiftshader', '--use-angle=swiftshader'],
}[kind];
if (!args) throw new Error(`unknown device kind ${kind}: cpu or webgpu`);

// Served under the public URL dist/ was built for (`ci/dist --public-url`).
const html = fs.readFileSync(`${process.env.PATCHBAY_DIST ?? `${repo}/dist`}/index.html`, 'utf8');
const prefix = /href="([^"]*)patchbay-web-[0-9a-f]{16}\.js"/.exec(html)?.[1] ?? '/';
const site = await startServer({ prefix });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true, args });
try {
  const page = await browser.newPage();
  await page.goto(`${site.app}?bench&run&workloads=${workloads}&reps=${reps}`);
  const progress = setInterval(async () => {
    const status = await page.textContent('#bench-status').catch(() => '');
    if (status) process.stderr.write(`${kind}: ${status}\n`);
  }, 30_000);
  await page.waitForSelector('#bench-result, #bench-error', { timeout: 0 });
  clearInterval(progress);
  const error = await page.$('#bench-error');
  if (error) throw new Error(await error.textContent());
  process.stdout.write(`${await page.getAttribute('#bench-result', 'data-report')}\n`);
} finally {
  await browser.close();
  site.server.close();
}
