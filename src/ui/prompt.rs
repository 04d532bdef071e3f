//! Prompt → token strip (ids on hover), per-token loss, top-k next tokens.

use super::{
    AppState,
    attention::{AttentionPatterns, Patterns},
};
use crate::experiments::read;
use crate::hooks::{BlockHook, HookPoint};
use leptos::prelude::*;

/// One token of the prompt with the model's loss on it (none for the first).
#[derive(Clone, PartialEq)]
struct TokenView {
    id: u32,
    text: String,
    loss: Option<f32>,
}

/// A candidate next token.
#[derive(Clone, PartialEq)]
struct Candidate {
    id: u32,
    text: String,
    logit: f32,
    prob: f32,
}

fn log_softmax(row: &[f32]) -> Vec<f32> {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let log_sum = row
        .iter()
        .map(|&l| ((l - max) as f64).exp())
        .sum::<f64>()
        .ln() as f32
        + max;
    row.iter().map(|&l| l - log_sum).collect()
}

#[component]
pub fn PromptPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let text =
        RwSignal::new("When John and Mary went to the shops, John gave the bag to".to_string());
    let prepend_bos = RwSignal::new(true);
    let tokens = RwSignal::new(Vec::<TokenView>::new());
    let candidates = RwSignal::new(Vec::<Candidate>::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let patterns = RwSignal::new(None::<Patterns>);

    let run = move |_| {
        let Some(session) = state.session.get_untracked() else {
            return;
        };
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            let result: Result<(Vec<TokenView>, Vec<Candidate>, Patterns), String> = async {
                let tokenizer = &session.model.tokenizer;
                let model = &session.model.model;
                let ids = tokenizer
                    .encode_prompt(&text.get_untracked(), prepend_bos.get_untracked())
                    .map_err(|e| e.to_string())?;
                let tokens = model
                    .tokens(std::slice::from_ref(&ids))
                    .map_err(|e| e.to_string())?;
                let (logits, cache) = model.run_with_cache(tokens, |p| {
                    matches!(p, HookPoint::Block(_, BlockHook::Pattern))
                });
                let mut layer_patterns = vec![];
                for layer in 0..model.config.n_layer {
                    let pattern: burn::tensor::Tensor<4> = cache
                        .get(HookPoint::pattern(layer))
                        .ok_or("no attention pattern cached")?;
                    layer_patterns.push(read(pattern).await?);
                }
                let [_, pos, vocab] = logits.dims();
                let values = read(logits.reshape([pos, vocab])).await?;
                let rows: Vec<Vec<f32>> = values.chunks(vocab).map(log_softmax).collect();
                let texts = tokenizer.token_texts(&ids);
                let strip = ids
                    .iter()
                    .zip(texts)
                    .enumerate()
                    .map(|(i, (&id, text))| TokenView {
                        id,
                        text,
                        loss: (i > 0).then(|| -rows[i - 1][id as usize]),
                    })
                    .collect();
                let last = &values[(pos - 1) * vocab..];
                let mut order: Vec<u32> = (0..vocab as u32).collect();
                order.sort_by(|&a, &b| last[b as usize].total_cmp(&last[a as usize]));
                let top = order[..10]
                    .iter()
                    .map(|&id| Candidate {
                        id,
                        text: tokenizer.token_texts(&[id]).remove(0),
                        logit: last[id as usize],
                        prob: rows[pos - 1][id as usize].exp(),
                    })
                    .collect();
                let patterns = Patterns {
                    n_head: model.config.n_head,
                    tokens: tokenizer.token_texts(&ids),
                    patterns: layer_patterns,
                };
                Ok((strip, top, patterns))
            }
            .await;
            busy.set(false);
            match result {
                Ok((strip, top, attention)) => {
                    tokens.set(strip);
                    candidates.set(top);
                    patterns.set(Some(attention));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };

    view! {
        <section class="panel" aria-labelledby="prompt-heading">
            <h2 id="prompt-heading">"Prompt"</h2>
            <textarea id="prompt-text" rows="3" cols="80" prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            <label><input id="prepend-bos" type="checkbox" prop:checked=move || prepend_bos.get() on:change=move |ev| prepend_bos.set(event_target_checked(&ev))/>" prepend <|endoftext|>"</label>
            <button id="run-prompt" on:click=run disabled=move || busy.get()>"Run"</button>
            {move || error.get().map(|e| view! { <p id="prompt-error" class="error" role="alert">{e}</p> })}
            <div id="token-strip" class="tokens" aria-label="tokens">
                <For each=move || tokens.get().into_iter().enumerate() key=|(i, t)| (*i, t.id) let((i, t))>
                    <span class="token" data-pos=i data-id=t.id data-loss=t.loss.map(|l| l.to_string())
                        title=format!("position {i}, id {}{}", t.id, t.loss.map(|l| format!(", loss {l:.3}")).unwrap_or_default())>
                        {t.text.replace(' ', "·")}
                    </span>
                </For>
            </div>
            <Show when=move || !candidates.get().is_empty()>
            <table id="top-k" class="top-k">
                <caption>"Most likely next tokens"</caption>
                <thead><tr><th scope="col">"token"</th><th scope="col">"id"</th><th scope="col">"probability"</th><th scope="col">"logit"</th></tr></thead>
                <tbody>
                    <For each=move || candidates.get() key=|c| c.id let(c)>
                        <tr data-id=c.id data-prob=c.prob.to_string() data-logit=c.logit.to_string()>
                            <td>{format!("{:?}", c.text)}</td><td>{c.id}</td><td>{format!("{:.2}%", c.prob * 100.0)}</td><td>{format!("{:.3}", c.logit)}</td>
                        </tr>
                    </For>
                </tbody>
            </table>
            </Show>
            {move || patterns.get().map(|p| view! { <AttentionPatterns patterns=p/> })}
        </section>
    }
}
