//! What the address says: embed mode, a share link, the model to load, the hub to use; and
//! the Content-Security-Policy built from it (the app's origin and the model's host only).

use crate::share::SharedRun;

pub use crate::links::DEFAULT_HUB;

/// Read once at start-up.
#[derive(Clone, Debug, Default)]
pub struct PageParams {
    /// `?embed`: one experiment, minimal chrome, for an iframe.
    pub embed: bool,
    /// `?bench`: the Benchmark panel open (`&run`: run it at once; `&workloads=a,b`: which).
    pub bench: bool,
    /// `?run`: run the experiment as soon as the model is loaded (share links always do).
    pub autorun: bool,
    /// `?hub=`: a hub mirror (an https origin, [`crate::links::hub_origin`]); the hub otherwise.
    pub hub: String,
    /// Why `?hub=` was not taken, to say on the page.
    pub hub_problem: Option<String>,
    /// The model to load at once: the share link's, else `?model=`.
    pub model: Option<String>,
    /// `?example=NAME`: a bundled example (file stem in `static/experiments/`).
    pub example: Option<String>,
    /// `?lesson=NAME|PATH`: a bundled lesson or a Markdown file from this site, open
    /// (`?guide`, the first-run guide's old link, opens the bundled IOI lesson).
    pub lesson: Option<String>,
    /// `?preset=NAME`: a published study (`presets::PRESETS`), its gallery card open.
    pub preset: Option<String>,
    /// The share link in the fragment, or why it could not be read.
    pub shared: Option<Result<SharedRun, String>>,
}

fn query_param(query: &web_sys::UrlSearchParams, name: &str) -> Option<String> {
    query.get(name).filter(|v| !v.is_empty())
}

/// The current page's parameters.
pub fn params() -> PageParams {
    let Some(location) = web_sys::window().map(|w| w.location()) else {
        return PageParams::default();
    };
    let query = web_sys::UrlSearchParams::new_with_str(&location.search().unwrap_or_default())
        .expect("a search string parses");
    let shared = SharedRun::from_fragment(&location.hash().unwrap_or_default())
        .map_err(|e| e.to_string())
        .transpose();
    let model = shared
        .as_ref()
        .and_then(|s| s.as_ref().ok())
        .and_then(|s| s.model.clone())
        .or_else(|| query_param(&query, "model"));
    let (hub, hub_problem) = match query_param(&query, "hub").map(|h| crate::links::hub_origin(&h))
    {
        None => (DEFAULT_HUB.to_string(), None),
        Some(Ok(hub)) => (hub, None),
        Some(Err(problem)) => (DEFAULT_HUB.to_string(), Some(problem)),
    };
    PageParams {
        embed: query.has("embed"),
        bench: query.has("bench"),
        autorun: query.has("run") || matches!(shared, Some(Ok(_))),
        hub,
        hub_problem,
        model,
        example: query_param(&query, "example"),
        preset: query_param(&query, "preset"),
        lesson: query_param(&query, "lesson").or_else(|| {
            query
                .has("guide")
                .then(|| crate::lesson::LESSONS[0].name.to_string())
        }),
        shared,
    }
}

/// `https://host:port` of an absolute http(s) URL.
pub fn origin_of(url: &str) -> Option<String> {
    let parsed = web_sys::Url::new(url).ok()?;
    matches!(parsed.protocol().as_str(), "http:" | "https:").then(|| parsed.origin())
}

/// Where a model name points: a hub id, or a base URL (absolute, or relative to the page).
#[derive(Clone, Debug, PartialEq)]
pub enum ModelLocation {
    Hub { id: String },
    Url(String),
}

impl ModelLocation {
    /// `openai-community/gpt2` is a hub id (`owner/name`); anything with `://`, starting with
    /// `/` or `.`, or with more than two path segments (`static/models/gpt2/`, relative to the
    /// page, so that it works wherever the site is hosted) is a URL.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("name a model: a hub id such as openai-community/gpt2, or a URL".into());
        }
        let segments = text.trim_end_matches('/').split('/').count();
        if text.contains("://") || text.starts_with('/') || text.starts_with('.') || segments > 2 {
            let base = web_sys::Url::new_with_base(
                text,
                &web_sys::window()
                    .and_then(|w| w.location().href().ok())
                    .unwrap_or_default(),
            )
            .map_err(|_| format!("`{text}` is not a URL"))?
            .href();
            let base = if base.ends_with('/') {
                base
            } else {
                base + "/"
            };
            return Ok(Self::Url(base));
        }
        let valid = text.split('/').count() <= 2
            && text.split('/').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            });
        if valid {
            Ok(Self::Hub {
                id: text.to_string(),
            })
        } else {
            Err(format!(
                "`{text}` is neither a hub id (owner/name) nor a URL"
            ))
        }
    }

    /// The folder the three files are read from.
    pub fn base_url(&self, hub: &str) -> String {
        match self {
            Self::Hub { id } => format!("{hub}/{id}/resolve/main/"),
            Self::Url(base) => base.clone(),
        }
    }
}

/// The hosts the hub's files are served from (it redirects large files to its CDNs).
fn hub_hosts(hub: &str) -> Vec<String> {
    let mut hosts = vec![hub.to_string()];
    if hub == DEFAULT_HUB {
        hosts.extend(
            [
                "https://*.huggingface.co",
                "https://*.hf.co",
                "https://*.xethub.hf.co",
            ]
            .map(String::from),
        );
    }
    hosts
}

/// Installs the page's Content-Security-Policy: scripts, styles, workers and frames from the
/// app's origin only; network requests to the origin, the hub and the model's host only.
/// Must run before anything is fetched.
pub fn install_content_security_policy(params: &PageParams) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let mut connect = vec!["'self'".to_string()];
    connect.extend(hub_hosts(&params.hub));
    connect.extend(model_origin(params));
    let policy = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; connect-src {}; worker-src 'self'; frame-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'none'",
        connect.join(" ")
    );
    if let Ok(meta) = document.create_element("meta") {
        let _ = meta.set_attribute("http-equiv", "Content-Security-Policy");
        let _ = meta.set_attribute("content", &policy);
        if let Some(head) = document.head() {
            let _ = head.append_child(&meta);
        }
    }
}

/// The host to ask about before loading `model_text` on a link's word: `None` for the page's
/// own origin and the Hugging Face hub (and for a name that is no address: loading says why).
pub fn needs_consent(params: &PageParams, model_text: &str) -> Option<String> {
    let base = ModelLocation::parse(model_text).ok()?.base_url(&params.hub);
    let page_origin = web_sys::window().and_then(|w| w.location().origin().ok());
    crate::links::needs_consent(&base, page_origin.as_deref())
}

/// The origin of the model URL the page was opened with (`?model=` or a share link).
fn model_origin(params: &PageParams) -> Option<String> {
    match ModelLocation::parse(params.model.as_deref()?).ok()? {
        ModelLocation::Url(url) => origin_of(&url),
        ModelLocation::Hub { .. } => None,
    }
}

/// Whether the policy installed at start-up lets the page fetch from `url`'s host.
pub fn allowed_by_policy(url: &str, params: &PageParams) -> bool {
    let page_origin = web_sys::window().and_then(|w| w.location().origin().ok());
    let origin = origin_of(url);
    origin.is_some()
        && (origin == page_origin
            || origin.as_deref() == Some(params.hub.as_str())
            || origin == model_origin(params))
}
