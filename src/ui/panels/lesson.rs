//! A lesson (`crate::lesson`): its text, with each step a button — load a model, run an
//! experiment — that the app ticks off when it is done, and each run's answer in the lesson
//! beside the step. `?lesson=NAME` opens a bundled one, `?lesson=PATH` a Markdown file from
//! this site; without either, the bundled IOI lesson waits folded (`?guide` opens it too).

use super::loader::{LoadControl, ModelSource};
use crate::lesson::{self, Block, Inline, Lesson, Step};
use crate::reading::summarise;
use crate::ui::workbench::{OnStart, Workbench};
use crate::ui::{AppState, page::PageParams};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The lesson the page was opened with, else the bundled one that replaces the first-run guide.
fn requested(params: &PageParams) -> String {
    params
        .lesson
        .clone()
        .unwrap_or_else(|| lesson::LESSONS[0].name.to_string())
}

/// A lesson's text: bundled by name, or a file from this site (the page fetches from its own
/// origin only).
async fn text_of(source: &str) -> Result<String, String> {
    if let Some(bundled) = lesson::find(source) {
        return Ok(bundled.text.to_string());
    }
    let window = web_sys::window().ok_or("no window")?;
    let here = window.location().href().map_err(|_| "no page address")?;
    let url = web_sys::Url::new_with_base(source, &here)
        .map_err(|_| format!("`{source}` is neither a bundled lesson nor an address"))?;
    if url.origin() != window.location().origin().unwrap_or_default() {
        return Err(format!(
            "a lesson is read from this site, not from {}: put the Markdown file beside the page (lessons/NAME.md) and open ?lesson=lessons/NAME.md",
            url.host()
        ));
    }
    let failed = |what: &str| format!("the lesson {source} could not be {what}");
    let response: web_sys::Response = JsFuture::from(window.fetch_with_str(&url.href()))
        .await
        .map_err(|_| failed("fetched"))?
        .dyn_into()
        .map_err(|_| failed("fetched"))?;
    if !response.ok() {
        return Err(format!(
            "{} (HTTP {})",
            failed("fetched"),
            response.status()
        ));
    }
    let text = JsFuture::from(response.text().map_err(|_| failed("read"))?)
        .await
        .map_err(|_| failed("read"))?;
    text.as_string().ok_or_else(|| failed("read"))
}

fn inlines(nodes: Vec<Inline>) -> impl IntoView {
    nodes
        .into_iter()
        .map(|node| match node {
            Inline::Text(t) => t.into_any(),
            Inline::Emphasis(t) => view! { <em>{t}</em> }.into_any(),
            Inline::Strong(t) => view! { <strong>{t}</strong> }.into_any(),
            Inline::Code(t) => view! { <code>{t}</code> }.into_any(),
            Inline::Link { text, url } => {
                let external = url.starts_with("http");
                view! { <a href=url target=external.then_some("_blank") rel=external.then_some("noopener noreferrer")>{text}</a> }.into_any()
            }
        })
        .collect_view()
}

/// One step: a button, ticked when the app has done it; a run's answer beneath it.
#[component]
fn StepView(step: Step, index: usize) -> impl IntoView {
    let bench = expect_context::<Workbench>();
    let state = expect_context::<AppState>();
    let control = expect_context::<LoadControl>();
    let params = expect_context::<PageParams>();
    let loaded = move || state.session.get().is_some();
    match step {
        Step::Load(model) => {
            let load = {
                let model = model.clone();
                move |_| control.start(state, params.clone(), ModelSource::Named(model.clone()))
            };
            view! {
                <div class="lesson-step" data-step=index data-kind="load" class:done=loaded>
                    <button class="primary" on:click=load disabled=move || loaded() || control.busy()>{format!("Load {model}")}</button>
                    {move || loaded().then(|| view! { <span class="done-note">" loaded"</span> })}
                </div>
            }
            .into_any()
        }
        Step::Run(spec) => {
            let spec = *spec;
            let json = spec.to_json();
            let title = spec.title.clone();
            let this = StoredValue::new(spec);
            // Done when the run on screen is this step's spec.
            let done = move || {
                state
                    .opened
                    .get()
                    .filter(|run| this.with_value(|spec| run.result.spec == *spec))
            };
            let start = move |_| {
                bench.spec_text.set(json.clone());
                bench.start(OnStart::Stay);
            };
            view! {
                <div class="lesson-step" data-step=index data-kind="run" class:done=move || done().is_some()>
                    <button class="primary" on:click=start disabled=move || !loaded()>{format!("Run: {title}")}</button>
                    {move || (!loaded()).then(|| view! { <span class="hint">" (load a model first)"</span> })}
                    {move || done().map(|run| {
                        let findings = summarise(&run.result);
                        view! {
                            <ul class="lesson-answer">
                                {findings.into_iter().map(|f| view! { <li>{f.text}</li> }).collect_view()}
                            </ul>
                            <a href="#results">"See the figures"</a>
                        }
                    })}
                </div>
            }
            .into_any()
        }
    }
}

fn lesson_view(lesson: Lesson) -> impl IntoView {
    let mut steps = 0;
    lesson
        .blocks
        .into_iter()
        .map(|block| match block {
            Block::Heading(1, text) => view! { <h3>{inlines(text)}</h3> }.into_any(),
            Block::Heading(2, text) => view! { <h4>{inlines(text)}</h4> }.into_any(),
            Block::Heading(_, text) => view! { <h5>{inlines(text)}</h5> }.into_any(),
            Block::Paragraph(text) => view! { <p>{inlines(text)}</p> }.into_any(),
            Block::List {
                ordered: false,
                items,
            } => view! {
                <ul>{items.into_iter().map(|i| view! { <li>{inlines(i)}</li> }).collect_view()}</ul>
            }
            .into_any(),
            Block::List {
                ordered: true,
                items,
            } => view! {
                <ol>{items.into_iter().map(|i| view! { <li>{inlines(i)}</li> }).collect_view()}</ol>
            }
            .into_any(),
            Block::Code(code) => view! { <pre><code>{code}</code></pre> }.into_any(),
            Block::Step(step) => {
                steps += 1;
                view! { <StepView step=step index=steps/> }.into_any()
            }
        })
        .collect_view()
}

#[component]
pub fn LessonPanel() -> impl IntoView {
    let params = expect_context::<PageParams>();
    let source = requested(&params);
    let opened = params.lesson.is_some();
    let read = LocalResource::new(move || {
        let source = source.clone();
        async move {
            text_of(&source)
                .await
                .and_then(|text| lesson::parse(&text).map_err(|e| e.to_string()))
        }
    });
    move || {
        read.get().map(|outcome| match outcome {
            Ok(lesson) => view! {
                <details id="lesson" class="lesson" open=opened>
                    <summary>{format!("Lesson: {}", lesson.title)}</summary>
                    {lesson_view(lesson)}
                </details>
            }
            .into_any(),
            Err(why) => {
                view! { <p id="lesson-error" class="error" role="alert">{why}</p> }.into_any()
            }
        })
    }
}
