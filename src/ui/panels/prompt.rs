//! Prompt → token strip (ids on hover), per-token loss, top-k next tokens, attention patterns.
//! The model's worker computes them (`crate::session::inspect`).

use super::attention::AttentionPatterns;
use crate::session::Inspect;
use crate::ui::{AppState, ModelCall};
use leptos::prelude::*;
use std::sync::Arc;

#[component]
pub fn PromptPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let text =
        RwSignal::new("When John and Mary went to the shops, John gave the bag to".to_string());
    let prepend_bos = RwSignal::new(true);
    let call = ModelCall::<Inspect>::new(state);
    // The last inspection stays on screen while the next one runs.
    let inspection =
        Memo::new(move |_| call.with_answer(|inspection| Some(Arc::new(inspection.clone()))));
    let tokens = move || {
        inspection
            .get()
            .map(|i| i.tokens.clone())
            .unwrap_or_default()
    };
    let candidates = move || {
        inspection
            .get()
            .map(|i| i.top_k.clone())
            .unwrap_or_default()
    };
    let patterns = move || inspection.get().map(|i| i.patterns.clone());
    let busy = move || call.pending();

    let run = move |_| {
        let request = Inspect {
            text: text.get_untracked(),
            prepend_bos: prepend_bos.get_untracked(),
        };
        call.run(request, |_| {});
    };

    view! {
        <section class="panel" aria-labelledby="prompt-heading">
            <h2 id="prompt-heading">"Prompt"</h2>
            <label for="prompt-text">"Prompt: its tokens, each token's loss, the next token's top 10"</label>
            <textarea id="prompt-text" rows="3" cols="80" prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            <label><input id="prepend-bos" type="checkbox" prop:checked=move || prepend_bos.get() on:change=move |ev| prepend_bos.set(event_target_checked(&ev))/>" prepend <|endoftext|>"</label>
            <button id="run-prompt" on:click=run disabled=busy>"Run"</button>
            {move || call.error().map(|e| view! { <p id="prompt-error" class="error" role="alert">{e}</p> })}
            <div id="token-strip" class="tokens" aria-label="tokens">
                <For each=move || tokens().into_iter().enumerate() key=|(i, t)| (*i, t.id) let((i, t))>
                    <span class="token" data-pos=i data-id=t.id data-loss=t.loss.map(|l| l.to_string())
                        title=format!("position {i}, id {}{}", t.id, t.loss.map(|l| format!(", loss {l:.3}")).unwrap_or_default())>
                        {t.text.replace(' ', "·")}
                    </span>
                </For>
            </div>
            <Show when=move || !candidates().is_empty()>
            <table id="top-k" class="top-k" tabindex="0">
                <caption>"Most likely next tokens"</caption>
                <thead><tr><th scope="col">"token"</th><th scope="col">"id"</th><th scope="col">"probability"</th><th scope="col">"logit"</th></tr></thead>
                <tbody>
                    <For each=candidates key=|c| c.id let(c)>
                        <tr data-id=c.id data-prob=c.prob.to_string() data-logit=c.logit.to_string()>
                            <td>{format!("{:?}", c.text)}</td><td>{c.id}</td><td>{format!("{:.2}%", c.prob * 100.0)}</td><td>{format!("{:.3}", c.logit)}</td>
                        </tr>
                    </For>
                </tbody>
            </table>
            </Show>
            {move || patterns().map(|p| view! { <AttentionPatterns patterns=p/> })}
        </section>
    }
}
