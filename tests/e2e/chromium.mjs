// Debian's Chromium as the tests start it: the flags that keep it off the network, and a
// persistent profile (IndexedDB, Cache API and service workers survive restarts there).
import { chromium } from 'playwright-core';

export const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const quiet = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
/** The CPU fallback: no GPU, no WebGPU. */
export const cpuArgs = [...quiet, '--disable-gpu', '--disable-features=WebGPU'];

/** A persistent profile in `dir` with the app at `url` open and its device chosen. */
export async function openProfile(dir, url, options = {}) {
  const context = await chromium.launchPersistentContext(dir, { executablePath, headless: true, args: cpuArgs, ...options });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('#device[data-state=ready]', { timeout: 60_000 });
  return { context, page, errors };
}
