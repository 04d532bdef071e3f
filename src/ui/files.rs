//! Files in and out of the page: downloads (JSON, CSV, SVG, PNG) and files the user picks.

use js_sys::{Array, Uint8Array};
use wasm_bindgen::{JsCast, JsValue, closure::Closure};
use wasm_bindgen_futures::JsFuture;

fn js_message(e: JsValue) -> String {
    js_sys::Reflect::get(&e, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

fn download_blob(name: &str, blob: &web_sys::Blob) -> Result<(), String> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let url = web_sys::Url::create_object_url_with_blob(blob).map_err(js_message)?;
    let anchor: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(js_message)?
        .unchecked_into();
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

/// Offers `text` as a download named `name`.
pub fn download_text(name: &str, mime: &str, text: &str) -> Result<(), String> {
    let parts = Array::of1(&JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob =
        web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).map_err(js_message)?;
    download_blob(name, &blob)
}

/// Draws an SVG document onto a canvas at twice its size and offers it as a PNG.
pub async fn download_png(name: &str, svg: &str) -> Result<(), String> {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let image = web_sys::HtmlImageElement::new().map_err(js_message)?;
    let loaded = js_sys::Promise::new(&mut |resolve, reject| {
        image.set_onload(Some(&resolve));
        image.set_onerror(Some(&reject));
    });
    let encoded = js_sys::encode_uri_component(svg);
    image.set_src(&format!("data:image/svg+xml;charset=utf-8,{encoded}"));
    JsFuture::from(loaded)
        .await
        .map_err(|_| "the figure could not be drawn".to_string())?;
    let canvas: web_sys::HtmlCanvasElement = document
        .create_element("canvas")
        .map_err(js_message)?
        .unchecked_into();
    let scale = 2.0;
    canvas.set_width((image.natural_width() as f64 * scale) as u32);
    canvas.set_height((image.natural_height() as f64 * scale) as u32);
    let context: web_sys::CanvasRenderingContext2d = canvas
        .get_context("2d")
        .map_err(js_message)?
        .ok_or("no 2d canvas")?
        .unchecked_into();
    context.scale(scale, scale).map_err(js_message)?;
    context
        .draw_image_with_html_image_element(&image, 0.0, 0.0)
        .map_err(js_message)?;
    let blob = JsFuture::from(js_sys::Promise::new(&mut |resolve, _| {
        let callback = Closure::once_into_js(move |blob: JsValue| {
            let _ = resolve.call1(&JsValue::NULL, &blob);
        });
        let _ = canvas.to_blob(callback.unchecked_ref());
    }))
    .await
    .map_err(js_message)?;
    let blob: web_sys::Blob = blob
        .dyn_into()
        .map_err(|_| "the canvas gave no image".to_string())?;
    download_blob(name, &blob)
}

/// The bytes of a file the user picked or dropped.
pub async fn read_file(file: &web_sys::File) -> Result<Vec<u8>, String> {
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| format!("cannot read {}: {}", file.name(), js_message(e)))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// The files of a `FileList` (picker or drop).
pub fn list(files: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    files
        .map(|list| (0..list.length()).filter_map(|i| list.get(i)).collect())
        .unwrap_or_default()
}

/// A file-system-safe name from a title.
pub fn file_stem(title: &str) -> String {
    let stem: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let stem = stem
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if stem.is_empty() {
        "patchbay".into()
    } else {
        stem
    }
}

/// Offers one run as a history file named after it.
pub fn download_run(run: &crate::history::RunRecord) -> Result<(), String> {
    let text = crate::history::HistoryFile::new(vec![run.clone()]).to_json();
    download_text(
        &format!("{}.json", file_stem(&run.name)),
        "application/json",
        &text,
    )
}
