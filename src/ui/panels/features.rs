//! SAE features: load a sparse autoencoder beside the model (a hub folder, a URL or the user's
//! files), read a prompt's features token by token, follow one feature across the prompt with the
//! tokens its decoder direction promotes, find features by the tokens they fire on, label them
//! from a Neuronpedia export the user has, and generate with a feature clamped by a slider. Each
//! step writes a spec (`sae_features`, or a generation with `features`) and runs it like any other.

use super::generation::TokenStrip;
use crate::experiments::features::{Listed, features_on_tokens};
use crate::experiments::{GenerationName, GridName};
use crate::sae::{FeatureAction, FeatureEdit, FeatureEdits};
use crate::session::{Event, HubRepo, LoadSae, LoadSource, RunSpec, SaeInfo};
use crate::spec::{Experiment, PromptInput, RunResult, Spec, TokenChoice};
use crate::ui::page::{PageParams, allowed_by_policy};
use crate::ui::{AppState, FailureView, ModelCall, files};
use leptos::prelude::*;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Where an SAE folder is: a URL (`https://…/`, `/…`, `./…`), or a hub repository with the
/// folder inside it (`jbloom/GPT2-Small-SAEs-Reformatted/blocks.8.hook_resid_pre`).
fn locate(params: &PageParams, text: &str) -> Result<LoadSource, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("name an SAE: a hub folder such as jbloom/GPT2-Small-SAEs-Reformatted/blocks.8.hook_resid_pre, a URL, or choose its two files".into());
    }
    let url_like = text.contains("://") || text.starts_with('/') || text.starts_with('.');
    let (base, hub) = if url_like {
        let page = web_sys::window()
            .and_then(|w| w.location().href().ok())
            .unwrap_or_default();
        let url = web_sys::Url::new_with_base(text, &page)
            .map_err(|_| format!("`{text}` is not a URL"))?
            .href();
        let base = if url.ends_with('/') { url } else { url + "/" };
        (base, None)
    } else {
        let parts: Vec<&str> = text.trim_end_matches('/').split('/').collect();
        let valid = parts.len() >= 2
            && parts.iter().all(|part| {
                !part.is_empty()
                    && part != &".."
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            });
        if !valid {
            return Err(format!(
                "`{text}` is neither a hub folder (owner/repo/folder) nor a URL"
            ));
        }
        let (repo, folder) = parts.split_at(2);
        let mut base = format!("{}/{}/resolve/main/", params.hub, repo.join("/"));
        for part in folder {
            base += &format!("{part}/");
        }
        let hub = HubRepo {
            hub: params.hub.clone(),
            id: parts.join("/"),
        };
        (base, Some(hub))
    };
    if !allowed_by_policy(&base, params) {
        return Err(format!(
            "`{text}`: an SAE loads from the Hugging Face hub or this page's host; from another host, download cfg.json and sae_weights.safetensors and choose them here"
        ));
    }
    Ok(LoadSource::Url {
        label: text.to_string(),
        base,
        hub,
    })
}

/// A followed feature: its activation per token, and (token, value) of `W_dec · W_U`.
#[derive(Clone)]
struct Followed {
    feature: usize,
    activations: Vec<f32>,
    logits: Vec<(String, f32)>,
}

/// The prompt's features as the page shows them.
#[derive(Clone)]
struct Read {
    tokens: Vec<String>,
    /// `[pos, top]`.
    top_ids: Vec<f32>,
    top_values: Vec<f32>,
    fve: f32,
    l0: f32,
    feature: Option<Followed>,
}

impl Read {
    fn of(result: &RunResult) -> Option<Self> {
        let grid = |name: &str| result.grids.get(&name.parse::<GridName>().ok()?);
        let metric = |name: &str| result.metrics.get(&name.parse().ok()?).copied();
        let ids = grid("sae.top_features")?;
        let Experiment::SaeFeatures(params) = &result.spec.experiment else {
            return None;
        };
        let feature = match (
            params.feature,
            grid("sae.feature"),
            grid("sae.feature_logits"),
        ) {
            (Some(feature), Some(column), Some(logits)) => Some(Followed {
                feature,
                activations: column.values.clone(),
                logits: logits
                    .labels
                    .first()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .zip(logits.values.iter().copied())
                    .collect(),
            }),
            _ => None,
        };
        Some(Self {
            tokens: ids.labels.first().cloned().unwrap_or_default(),
            top_ids: ids.values.clone(),
            top_values: grid("sae.top_activations")?.values.clone(),
            fve: metric("sae.fve")?,
            l0: metric("sae.l0")?,
            feature,
        })
    }

    fn top(&self) -> usize {
        self.top_ids.len() / self.tokens.len().max(1)
    }

    /// The features listed for the token at `pos`.
    fn listed(&self, pos: usize) -> Vec<Listed> {
        let top = self.top();
        (0..top)
            .map(|rank| {
                let i = pos * top + rank;
                (self.top_ids[i] as usize, pos, self.top_values[i])
            })
            .filter(|(.., value)| *value > 0.0)
            .collect()
    }
}

#[component]
pub fn FeaturesPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let params = StoredValue::new(expect_context::<PageParams>());
    let source = RwSignal::new(String::new());
    let loaded = RwSignal::new_local(None::<Rc<SaeInfo>>);
    let loading = ModelCall::<LoadSae>::new(state);
    let load_status = RwSignal::new(String::new());
    let load_problem = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        loading.version();
        untrack(|| {
            if let Some(info) = loading.with_answer(|info| Some(info.clone())) {
                load_status.set(String::new());
                loaded.set(Some(Rc::new(info)));
            }
        })
    });
    let load = move |picked: Option<Vec<web_sys::File>>| {
        let text = source.get_untracked().trim().to_string();
        let (request_source, files, id) = match picked {
            Some(list) => {
                let id = if text.is_empty() {
                    "local SAE".to_string()
                } else {
                    text
                };
                (LoadSource::Files, list, id)
            }
            None => match params.with_value(|p| locate(p, &text)) {
                Ok(found) => (found, vec![], text),
                Err(problem) => return load_problem.set(Some(problem)),
            },
        };
        load_problem.set(None);
        loaded.set(None);
        let on_event = move |event| {
            if let Event::Status { text } = event {
                load_status.set(text);
            }
        };
        loading.run_with_files(
            LoadSae {
                source: request_source,
                id,
            },
            files,
            on_event,
        );
    };

    let prompt =
        RwSignal::new("When John and Mary went to the shops, John gave the bag to".to_string());
    let labels = RwSignal::new_local(BTreeMap::<usize, String>::new());
    let labels_note = RwSignal::new(String::new());
    let reading = ModelCall::<RunSpec>::new(state);
    let run_problem = RwSignal::new(None::<String>);
    let read = Signal::derive(move || reading.with_answer(Read::of));
    let chosen_pos = RwSignal::new(None::<usize>);
    let search = RwSignal::new(String::new());
    let steer = RwSignal::new(8.0f32);
    let follow = RwSignal::new(String::new());
    let generating = ModelCall::<RunSpec>::new(state);
    let streamed = RwSignal::new(Vec::<TokenChoice>::new());

    let spec_of = move |experiment: Experiment| {
        let model = state
            .session
            .get_untracked()
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let json = serde_json::json!({
            "version": 1,
            "title": "SAE features (from the Features view)",
            "model": {"id": model},
            "experiment": experiment,
        });
        Spec::from_json(&json.to_string()).map_err(|e| e.to_string())
    };
    let run_features = move |feature: Option<usize>| {
        let Some(sae) = loaded.get_untracked() else {
            return run_problem.set(Some("load an SAE first".into()));
        };
        let experiment = Experiment::SaeFeatures(crate::experiments::features::Params {
            sae: crate::loading::ModelRef {
                id: sae.id.clone(),
                revision: None,
            },
            prompt: PromptInput::Text(prompt.get_untracked()),
            prepend_bos: true,
            top: 8,
            feature,
        });
        match spec_of(experiment) {
            Ok(spec) => {
                run_problem.set(None);
                reading.run(RunSpec::new(spec), |_| {});
            }
            Err(problem) => run_problem.set(Some(problem)),
        }
    };
    let generate = move |_| {
        let (Some(sae), Some(feature)) = (
            loaded.get_untracked(),
            read.get_untracked()
                .and_then(|r| r.feature.map(|f| f.feature)),
        ) else {
            return;
        };
        let experiment = Experiment::Generation(crate::experiments::generation::Params {
            prompt: PromptInput::Text(prompt.get_untracked()),
            prepend_bos: false,
            generation: crate::experiments::GenerationConfig {
                max_new_tokens: 24,
                temperature: 0.0,
                ..Default::default()
            },
            interventions: vec![],
            features: Some(FeatureEdits {
                sae: crate::loading::ModelRef {
                    id: sae.id.clone(),
                    revision: None,
                },
                edits: vec![FeatureEdit {
                    feature,
                    action: FeatureAction::Clamp {
                        value: steer.get_untracked(),
                    },
                }],
            }),
        });
        match spec_of(experiment) {
            Ok(spec) => {
                streamed.set(vec![]);
                generating.run(RunSpec::new(spec), move |event| {
                    if let Event::Token(new) = event
                        && new.name == GenerationName::Default
                    {
                        streamed.update(|s| s.push(new.choice));
                    }
                });
            }
            Err(problem) => run_problem.set(Some(problem)),
        }
    };
    let read_labels = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(file) = files::list(input.files()).into_iter().next() else {
            return;
        };
        wasm_bindgen_futures::spawn_local(async move {
            let parsed = files::read_file(&file)
                .await
                .and_then(|bytes| String::from_utf8(bytes).map_err(|_| "not UTF-8 text".into()))
                .and_then(|text| crate::sae::labels::parse(&text));
            match parsed {
                Ok(found) => {
                    labels_note.set(format!("{} labels from {}", found.len(), file.name()));
                    labels.set(found);
                }
                Err(e) => labels_note.set(format!("{}: {e}", file.name())),
            }
        });
    };
    let label_of = move |feature: usize| labels.with(|l| l.get(&feature).cloned());

    let feature_button = move |(feature, _pos, value): Listed| {
        let label = label_of(feature);
        view! {
            <li>
                <button class="sae-feature-pick" data-feature=feature on:click=move |_| run_features(Some(feature))>{format!("#{feature}")}</button>
                " " <span class="value">{format!("{value:.3}")}</span>
                {label.map(|l| view! { " " <span class="label">{l}</span> })}
            </li>
        }
    };

    let loaded_line = move || {
        loaded.get().map(|info| view! {
            <p id="sae-loaded" data-id=info.id.clone() data-d-sae=info.d_sae data-hook=info.hook.clone()>
                {format!("SAE {}: {}, {} features reading {} (width {}){}", info.id, info.architecture, info.d_sae, info.hook, info.d_in, info.notes)}
            </p>
        })
    };
    let tokens_view = move || {
        read.get().map(|read| {
            let shade: Option<(Vec<f32>, f32)> = read.feature.as_ref().map(|followed| {
                let column = &followed.activations;
                let max = column.iter().copied().fold(0.0f32, f32::max);
                (column.clone(), max)
            });
            view! {
                <p id="sae-summary">{format!("Fraction of variance explained {:.3} · {:.1} features active per token", read.fve, read.l0)}</p>
                <p id="sae-tokens" class="token-strip" aria-label="the prompt's tokens: choose one for its features">
                    {read.tokens.iter().enumerate().map(|(pos, token)| {
                        let activation = shade.as_ref().map(|(column, _)| column[pos]);
                        let style = shade.as_ref().map(|(column, max)| {
                            format!("--p:{:.3}", if *max > 0.0 { column[pos] / max } else { 0.0 })
                        }).unwrap_or_default();
                        let title = activation.map(|a| format!("activation {a:.3}")).unwrap_or_else(|| "show its features".into());
                        view! {
                            <button class="token sae-token" data-pos=pos data-activation=activation.map(|a| a.to_string()) title=title style=style
                                class:chosen=move || chosen_pos.get() == Some(pos)
                                on:click=move |_| chosen_pos.set(Some(pos))>{token.clone()}</button>
                        }
                    }).collect_view()}
                </p>
            }
        })
    };
    let token_features = move || {
        let (read, pos) = (read.get()?, chosen_pos.get()?);
        let token = read.tokens.get(pos)?.clone();
        Some(view! {
            <h3>{format!("Features of {token:?} (position {pos})")}</h3>
            <ol id="sae-token-features">{read.listed(pos).into_iter().map(feature_button).collect_view()}</ol>
        })
    };
    let search_results = move || {
        let read = read.get()?;
        let query = search.get();
        if query.trim().is_empty() {
            return None;
        }
        let found = features_on_tokens(&read.tokens, &read.top_ids, &read.top_values, &query);
        let count = found.len();
        Some(view! {
            <ol id="sae-search-results" data-count=count>
                {found.into_iter().map(|(feature, pos, value)| {
                    let token = read.tokens[pos].clone();
                    view! { {feature_button((feature, pos, value))} <span class="hint">{format!(" on {token:?}")}</span> }
                }).collect_view()}
            </ol>
        })
    };
    let feature_view = move || {
        let Followed {
            feature, logits, ..
        } = read.get()?.feature?;
        let label = label_of(feature);
        let (up, down) = logits.split_at(logits.len() / 2);
        let list = |id: &'static str, items: &[(String, f32)]| {
            view! {
                <ol id=id>{items.iter().map(|(token, value)| view! { <li><q>{token.clone()}</q>" "{format!("{value:+.3}")}</li> }).collect_view()}</ol>
            }
        };
        Some(view! {
            <section id="sae-feature" data-feature=feature aria-labelledby="sae-feature-heading">
                <h3 id="sae-feature-heading">{format!("Feature #{feature}")}{label.map(|l| format!(": {l}"))}</h3>
                <div class="side-by-side">
                    <div><h4>"Promotes (W_dec · W_U)"</h4>{list("sae-promoted", up)}</div>
                    <div><h4>"Suppresses"</h4>{list("sae-suppressed", down)}</div>
                </div>
                <label>"Clamp to "
                    <input id="sae-steer" type="range" min="-20" max="40" step="0.5" prop:value=move || steer.get().to_string()
                        on:input=move |ev| if let Ok(v) = event_target_value(&ev).parse() { steer.set(v) }/>
                    " " <output id="sae-steer-value">{move || format!("{:.1}", steer.get())}</output>
                </label>
                " " <button id="sae-generate" on:click=generate disabled=move || generating.pending()>"Generate with the feature clamped"</button>
                {move || generating.failure().map(|f| view! { <FailureView id="sae-generate-error" failure=f/> })}
                {move || {
                    // While a generation runs, its tokens as they come (not the last one's).
                    let done = (!generating.pending()).then(|| generating.with_answer(|result| {
                        result.generations.get(&GenerationName::Default).map(|g| (g.choices(), g.generation.new_ids.clone()))
                    })).flatten();
                    let (choices, ids) = done.unwrap_or_else(|| (streamed.get(), vec![]));
                    let ids = ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
                    (!choices.is_empty()).then(|| view! {
                        <p id="sae-continuation" class="token-strip" data-ids=ids><TokenStrip choices=choices/></p>
                    })
                }}
            </section>
        })
    };

    view! {
        <section class="panel" aria-labelledby="features-heading">
            <h2 id="features-heading">"SAE features"</h2>
            <p class="hint">"A sparse autoencoder in SAELens's format (cfg.json and sae_weights.safetensors) reads one hook of the loaded model: standard, JumpReLU or top-k. It runs here, like the model."</p>
            <div class="controls">
                <label>"SAE: "
                    <input id="sae-source" type="text" size="60" placeholder="jbloom/GPT2-Small-SAEs-Reformatted/blocks.8.hook_resid_pre, or a URL"
                        prop:value=move || source.get() on:input=move |ev| source.set(event_target_value(&ev))/>
                </label>
                <button id="sae-load" on:click=move |_| load(None) disabled=move || loading.pending()>"Load"</button>
                <label>" or choose its files: "
                    <input id="sae-files" type="file" multiple accept=".json,.safetensors" disabled=move || loading.pending()
                        on:change=move |ev: leptos::ev::Event| {
                            let input: web_sys::HtmlInputElement = event_target(&ev);
                            load(Some(files::list(input.files())));
                        }/>
                </label>
            </div>
            <p class="status" role="status">{move || load_status.get()}</p>
            {move || load_problem.get().map(|message| view! { <FailureView id="sae-load-error" failure=crate::session::Failure::Input { message }/> })}
            {move || loading.failure().filter(|_| load_problem.with(Option::is_none)).map(|f| view! { <FailureView id="sae-load-error" failure=f/> })}
            {loaded_line}
            {move || loaded.get().map(|_| view! {
                <label for="sae-prompt">"Prompt (<|endoftext|> is prepended, as TransformerLens does)"</label>
                <textarea id="sae-prompt" rows="2" cols="80" prop:value=move || prompt.get() on:input=move |ev| prompt.set(event_target_value(&ev))></textarea>
                <div class="controls">
                    <button id="sae-run" on:click=move |_| { chosen_pos.set(None); run_features(None) } disabled=move || reading.pending()>"Show features"</button>
                    <label>" Neuronpedia labels (an export you have): "
                        <input id="sae-labels" type="file" accept=".json,.jsonl" on:change=read_labels/>
                    </label>
                    <span id="sae-labels-note" class="hint">{move || labels_note.get()}</span>
                </div>
            })}
            {move || run_problem.get().map(|message| view! { <FailureView id="sae-run-error" failure=crate::session::Failure::Input { message }/> })}
            {move || reading.failure().filter(|_| run_problem.with(Option::is_none)).map(|f| view! { <FailureView id="sae-run-error" failure=f/> })}
            {tokens_view}
            {token_features}
            {move || read.get().map(|_| view! {
                <div class="controls">
                    <label>"Follow feature "
                        <input id="sae-feature-number" type="number" min="0" prop:value=move || follow.get() on:input=move |ev| follow.set(event_target_value(&ev))/>
                    </label>
                    <button id="sae-follow" disabled=move || reading.pending() on:click=move |_| {
                        match follow.get_untracked().trim().parse::<usize>() {
                            Ok(feature) => run_features(Some(feature)),
                            Err(_) => run_problem.set(Some(format!("feature: `{}` is not a whole number", follow.get_untracked().trim()))),
                        }
                    }>"Follow"</button>
                </div>
                <label>"Find features by the tokens they fire on: "
                    <input id="sae-search" type="search" placeholder="John" prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev))/>
                </label>
            })}
            {search_results}
            {feature_view}
        </section>
    }
}
