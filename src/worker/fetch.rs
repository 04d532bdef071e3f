//! Downloading model files with progress (the Fetch API, read chunk by chunk), kept in the
//! browser's Cache API so that a reload reads them from disk. Runs in the model's worker.

use crate::loading::pipeline::ListedFile;
use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Cache, ReadableStreamDefaultReader, RequestInit, Response};

/// The Cache API bucket that holds downloaded model files.
pub const MODEL_CACHE: &str = "patchbay-models-v1";

/// Where a file came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Network,
    BrowserCache,
}

fn js_error(context: &str, e: JsValue) -> String {
    // An `Error` stringifies as `{}`: its message is what says what happened.
    let detail = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .or_else(|| js_sys::JSON::stringify(&e).ok().and_then(|s| s.as_string()))
        .unwrap_or_default();
    format!("{context}: {detail}")
}

async fn open_cache() -> Option<Cache> {
    let caches = super::scope().caches().ok()?;
    JsFuture::from(caches.open(MODEL_CACHE))
        .await
        .ok()?
        .dyn_into()
        .ok()
}

/// The file at `url`, from the browser cache when it holds them, else from the network (and
/// then stored in the cache), handed to `sink` chunk by chunk as it arrives; an error from
/// `sink` stops the download and is returned as it is. `check(size)` sees the size before the
/// body is read and can refuse it; `progress(received, total)` is called as chunks arrive;
/// `signal` cancels. A cache that cannot store (quota, private mode) costs nothing but the note
/// in the result. `use_cache: false` downloads even when the cache holds the file (and keeps
/// the fresh copy); `from_cache` is set when the bytes handed to `sink` came from the cache.
pub async fn fetch_cached_into(
    url: &str,
    use_cache: bool,
    from_cache: &mut bool,
    signal: &AbortSignal,
    check: impl FnOnce(Option<u64>) -> Result<(), String>,
    mut sink: impl FnMut(&[u8]) -> Result<(), String>,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<(Origin, Option<String>), String> {
    let cache = open_cache().await;
    if use_cache
        && let Some(cache) = &cache
        && let Ok(hit) = JsFuture::from(cache.match_with_str(url)).await
        && let Ok(response) = hit.dyn_into::<Response>()
    {
        *from_cache = true;
        check(content_length(&response))?;
        return match read_body(url, &response, signal, &mut sink, &mut progress).await {
            Ok(()) => Ok((Origin::BrowserCache, None)),
            Err(BodyFailure::Sink(e)) => Err(e),
            Err(BodyFailure::Read(why)) => Err(cancelled_or(
                signal,
                format!("the cached copy could not be read: {why}"),
            )),
        };
    }
    let response = get(url, signal).await?;
    check(content_length(&response))?;
    // The cache consumes a tee of the stream while we read the other branch.
    let stored = cache.as_ref().and_then(|cache| {
        response
            .clone()
            .ok()
            .map(|copy| JsFuture::from(cache.put_with_str(url, &copy)))
    });
    read_body(url, &response, signal, &mut sink, &mut progress)
        .await
        .map_err(BodyFailure::into_message)?;
    let note = match stored {
        Some(put) => put.await.err().map(|e| js_error("the model could not be kept in the browser cache (storage full?)", e)),
        None => Some("the browser offers no cache storage here: the model will be downloaded again next time".to_string()),
    };
    Ok((Origin::Network, note))
}

/// Why reading a body stopped.
pub enum BodyFailure {
    /// The stream failed, was cut short or cancelled.
    Read(String),
    /// The consumer refused the bytes.
    Sink(String),
}

impl BodyFailure {
    pub fn into_message(self) -> String {
        match self {
            Self::Read(m) | Self::Sink(m) => m,
        }
    }
}

fn cancelled_or(signal: &AbortSignal, message: String) -> String {
    if signal.aborted() {
        CANCELLED.to_string()
    } else {
        message
    }
}

/// The error text of a cancelled download (the worker reports it as `BodyFailure::Cancelled`).
const CANCELLED: &str = "the download was cancelled";

/// A successful response for `url`, or why not.
pub async fn get(url: &str, signal: &AbortSignal) -> Result<Response, String> {
    let init = RequestInit::new();
    init.set_signal(Some(signal));
    let response: Response = JsFuture::from(super::scope().fetch_with_str_and_init(url, &init))
        .await
        .map_err(|e| cancelled_or(signal, js_error(&format!("cannot download {url}"), e)))?
        .dyn_into()
        .map_err(|_| format!("{url}: not a response"))?;
    if !response.ok() {
        return Err(format!(
            "cannot download {url}: HTTP {} {}",
            response.status(),
            response.status_text()
        ));
    }
    Ok(response)
}

/// The files of the hub repository `id`.
pub async fn hub_files(
    hub: &str,
    id: &str,
    signal: &AbortSignal,
) -> Result<Vec<ListedFile>, String> {
    hub_files_in(hub, id, "", signal).await
}

/// The files in `folder` of the hub repository `id` (its root when empty), paths from the
/// repository's root.
pub async fn hub_files_in(
    hub: &str,
    id: &str,
    folder: &str,
    signal: &AbortSignal,
) -> Result<Vec<ListedFile>, String> {
    let (url, what) = match folder {
        "" => (format!("{hub}/api/models/{id}/tree/main"), id.to_string()),
        folder => (
            format!("{hub}/api/models/{id}/tree/main/{folder}"),
            format!("{id}/{folder}"),
        ),
    };
    let response = get(&url, signal).await?;
    let text = JsFuture::from(response.text().map_err(|e| js_error("no body", e))?)
        .await
        .map_err(|e| cancelled_or(signal, js_error(&format!("cannot read {url}"), e)))?
        .as_string()
        .unwrap_or_default();
    serde_json::from_str(&text)
        .map_err(|e| format!("the hub's file list for {what} is not what Patchbay expects: {e}"))
}

fn content_length(response: &Response) -> Option<u64> {
    response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u64>().ok())
}

/// Removes these URLs from the model cache (after they failed to load).
pub async fn forget(urls: &[String]) {
    if let Some(cache) = open_cache().await {
        for url in urls {
            let _ = JsFuture::from(cache.delete_with_str(url)).await;
        }
    }
}

async fn read_body(
    url: &str,
    response: &Response,
    signal: &AbortSignal,
    sink: &mut impl FnMut(&[u8]) -> Result<(), String>,
    progress: &mut impl FnMut(u64, Option<u64>),
) -> Result<(), BodyFailure> {
    let total = content_length(response);
    let body = response
        .body()
        .ok_or_else(|| BodyFailure::Read(format!("{url}: empty response")))?;
    let received = read_stream(url, &body, Some(signal), total, sink, progress).await?;
    if let Some(total) = total
        && received < total
    {
        // (Only shorter: a compressed response's length is of the compressed bytes.)
        return Err(BodyFailure::Read(format!(
            "{url} ended after {received} of {total} bytes: the download was cut short"
        )));
    }
    Ok(())
}

/// Reads `stream` chunk by chunk into `sink` (`total`: its length, when known, for
/// `progress`); returns the bytes read.
pub async fn read_stream(
    label: &str,
    stream: &web_sys::ReadableStream,
    signal: Option<&AbortSignal>,
    total: Option<u64>,
    sink: &mut impl FnMut(&[u8]) -> Result<(), String>,
    progress: &mut impl FnMut(u64, Option<u64>),
) -> Result<u64, BodyFailure> {
    let reader: ReadableStreamDefaultReader = stream
        .get_reader()
        .dyn_into()
        .map_err(|_| BodyFailure::Read("no stream reader".to_string()))?;
    let mut received = 0u64;
    let mut buffer = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| {
            let message = js_error(
                &format!("reading {label} failed after {received} bytes (the connection closed?)"),
                e,
            );
            BodyFailure::Read(match signal {
                Some(signal) => cancelled_or(signal, message),
                None => message,
            })
        })?;
        if Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true)
        {
            break;
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into())
            .map_err(|e| BodyFailure::Read(js_error("bad chunk", e)))?
            .dyn_into()
            .map_err(|_| BodyFailure::Read("bad chunk".to_string()))?;
        buffer.resize(value.length() as usize, 0);
        value.copy_to(&mut buffer);
        if let Err(e) = sink(&buffer) {
            let _ = reader.cancel();
            return Err(BodyFailure::Sink(e));
        }
        received += buffer.len() as u64;
        progress(received, total);
    }
    Ok(received)
}
