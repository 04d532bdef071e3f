// What the tests do on the app's page, shared between test files.

/** Loads the tiny model served at `base` (the test server's) from the Model view. */
export async function loadTiny(page, base) {
  await page.fill('#model-url', `${base}/models/tiny-gpt2/`);
  await page.click('#load-model');
  await page.waitForSelector('#prompt-text', { timeout: 120_000 });
}

/** Runs `spec` (JSON text) from the editor; resolves to the new run's id once it is shown. */
export async function runSpec(page, spec) {
  // (Read without waiting: before the first run there is no result.)
  const before = await page.$eval('#experiment-result', (e) => e.dataset.runId).catch(() => null);
  await page.fill('#spec-text', spec);
  await page.click('#run-experiment');
  await page.waitForFunction((previous) => {
    const id = document.querySelector('#experiment-result')?.dataset.runId;
    return id && id !== previous && !document.querySelector('#run-experiment').disabled;
  }, before, { timeout: 300_000 });
  return page.getAttribute('#experiment-result', 'data-run-id');
}

/** The page's height with the results view on screen, and the screen's: the answer, the figure
 * list and one figure should fit in two screens. */
export async function resultHeight(page) {
  return page.evaluate(() => {
    if (document.querySelector('#view-results')?.hidden) throw new Error('the results view is not on screen');
    return { height: document.documentElement.scrollHeight, screen: window.innerHeight };
  });
}
