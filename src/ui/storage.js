// IndexedDB for the run history, used from Rust (src/ui/storage.rs). Plain JS because
// IndexedDB is an event API: here every request becomes a promise and every failure keeps its
// DOMException name (QuotaExceededError, InvalidStateError...), which the app reports.
const DB_NAME = 'patchbay';
const DB_VERSION = 1;
const RUNS = 'runs';

let db = null;
const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel('patchbay-history') : null;

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function finished(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new DOMException('the transaction was aborted', 'AbortError'));
  });
}

export async function openHistory() {
  if (db) return;
  if (typeof indexedDB === 'undefined' || indexedDB === null) {
    throw new DOMException('this browser offers no IndexedDB here (private browsing?)', 'UnavailableError');
  }
  const request = indexedDB.open(DB_NAME, DB_VERSION);
  request.onupgradeneeded = (event) => {
    // Database versions add stores and indexes; record layouts migrate per record (schema).
    if (event.oldVersion < 1) request.result.createObjectStore(RUNS, { keyPath: 'id' });
  };
  request.onblocked = () => {};
  db = await promised(request);
  // Another tab opening a newer version: let it, and reopen on next use.
  db.onversionchange = () => {
    db.close();
    db = null;
  };
}

async function transaction(mode) {
  await openHistory();
  const tx = db.transaction(RUNS, mode);
  return { tx, store: tx.objectStore(RUNS) };
}

/** Stores records `{id, schema, record}` in one transaction: all or none. */
export async function putRuns(records) {
  const { tx, store } = await transaction('readwrite');
  for (const record of records) store.put(record);
  await finished(tx);
  channel?.postMessage('changed');
}

export async function allRuns() {
  const { tx, store } = await transaction('readonly');
  const runs = await promised(store.getAll());
  await finished(tx);
  return runs;
}

export async function deleteRuns(ids) {
  const { tx, store } = await transaction('readwrite');
  for (const id of ids) store.delete(id);
  await finished(tx);
  channel?.postMessage('changed');
}

/** Calls `callback` when another tab changed the history. */
export function onOtherTabChange(callback) {
  if (channel) channel.onmessage = () => callback();
}

/** Asks the browser not to evict the history under storage pressure. */
export async function persist() {
  return navigator.storage?.persist ? navigator.storage.persist() : false;
}
