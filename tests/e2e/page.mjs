// What the tests do on the app's page, shared between test files.

/** Runs `spec` (JSON text) from the editor; resolves to the new run's id once it is shown. */
export async function runSpec(page, spec) {
  const before = await page.getAttribute('#experiment-result', 'data-run-id').catch(() => null);
  await page.fill('#spec-text', spec);
  await page.click('#run-experiment');
  await page.waitForFunction((previous) => {
    const id = document.querySelector('#experiment-result')?.dataset.runId;
    return id && id !== previous && !document.querySelector('#run-experiment').disabled;
  }, before, { timeout: 300_000 });
  return page.getAttribute('#experiment-result', 'data-run-id');
}
