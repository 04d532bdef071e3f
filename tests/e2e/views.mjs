// The page shows one view at a time (Model, Prompt, Generate, Experiment, Results, History) and
// folds some controls in <details> ("Edit as JSON") and a result's figures behind its figure
// list. A user who wants a control opens its view, its figure, then its fold; so do the tests. Importing this module makes Playwright's actions (click, fill,
// selectOption, ..., and waiting for an element to be visible) do that first, as clicks on the
// view's link in the work bar and on the fold's summary. Where a test checks the views
// themselves (which view a run opens, the keyboard), it reads visibility with `isVisible` and
// moves with the keyboard, which this leaves alone.
import { chromium } from 'playwright-core';

const ACTIONS = ['click', 'dblclick', 'fill', 'type', 'press', 'pressSequentially', 'check', 'uncheck', 'setChecked',
  'selectOption', 'setInputFiles', 'hover', 'focus', 'tap', 'selectText', 'scrollIntoViewIfNeeded'];

/** One step towards showing `el`: the view to open (its link clicked), '' after showing a figure or opening a fold, null when shown. */
function step(el) {
  const view = el.closest('.view[hidden]');
  if (view) {
    document.querySelector(`#sections a[data-view="${view.dataset.view}"]`).click();
    return view.dataset.view;
  }
  const slot = el.closest('.figure-slot[hidden]');
  if (slot) {
    slot.closest('.figures').querySelector(`.figure-list button[data-show-grid="${CSS.escape(slot.dataset.slot)}"]`).click();
    return '';
  }
  const fold = el.parentElement?.closest('details:not([open])');
  const summary = fold?.querySelector(':scope > summary');
  if (fold && !summary?.contains(el)) {
    summary.click();
    return '';
  }
  return null;
}

/** Opens the view and folds `handle`'s element is in. */
async function reveal(page, handle) {
  for (let i = 0; i < 8; i += 1) {
    const view = await handle.evaluate(step);
    if (view === null) return;
    if (view) await waitForSelector.call(page, `.view[data-view="${view}"]:not([hidden])`, { timeout: 10_000 });
  }
}

let waitForSelector;
let patched = false;
function patch(page) {
  if (patched) return;
  patched = true;
  const Page = Object.getPrototypeOf(page);
  const Locator = Object.getPrototypeOf(page.locator('html'));
  waitForSelector = Page.waitForSelector;
  const revealSelector = async (target, selector, timeout) => {
    const handle = await waitForSelector.call(target, selector, { state: 'attached', timeout });
    if (handle) {
      await reveal(target, handle);
      await handle.dispose();
    }
  };
  for (const name of ACTIONS) {
    const original = Page[name];
    if (original) {
      Page[name] = async function (selector, ...rest) {
        await revealSelector(this, selector, rest.find((r) => r?.timeout)?.timeout);
        return original.call(this, selector, ...rest);
      };
    }
    const onLocator = Locator[name];
    if (onLocator) {
      Locator[name] = async function (...args) {
        const handle = await this.first().elementHandle({ timeout: args.find((a) => a?.timeout)?.timeout });
        await reveal(this.page(), handle);
        await handle.dispose();
        return onLocator.apply(this, args);
      };
    }
  }
  Page.waitForSelector = async function (selector, options = {}) {
    if (options.state && options.state !== 'visible') return waitForSelector.call(this, selector, options);
    await revealSelector(this, selector, options.timeout);
    return waitForSelector.call(this, selector, options);
  };
  const waitFor = Locator.waitFor;
  Locator.waitFor = async function (options = {}) {
    if (options.state && options.state !== 'visible') return waitFor.call(this, options);
    const handle = await this.first().elementHandle({ timeout: options.timeout });
    await reveal(this.page(), handle);
    await handle.dispose();
    return waitFor.call(this, options);
  };
}

function watch(context) {
  context.pages().forEach(patch);
  context.on('page', patch);
  return context;
}

const launch = chromium.launch.bind(chromium);
chromium.launch = async (...args) => {
  const browser = await launch(...args);
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (...o) => watch(await newContext(...o));
  const newPage = browser.newPage.bind(browser);
  browser.newPage = async (...o) => {
    const page = await newPage(...o);
    patch(page);
    return page;
  };
  return browser;
};
const launchPersistentContext = chromium.launchPersistentContext.bind(chromium);
chromium.launchPersistentContext = async (...args) => watch(await launchPersistentContext(...args));
