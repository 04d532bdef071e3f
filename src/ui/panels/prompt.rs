//! Prompt → token strip (ids on hover), per-token loss, top-k next tokens, attention patterns.
//! The model's worker computes them (`crate::session::inspect`).

use super::attention::AttentionPatterns;
use crate::session::inspect::{Candidate, Inspection, TokenLoss};
use crate::session::{Reply, Request};
use crate::ui::AppState;
use leptos::prelude::*;

#[component]
pub fn PromptPanel() -> impl IntoView {
    let state = expect_context::<AppState>();
    let text =
        RwSignal::new("When John and Mary went to the shops, John gave the bag to".to_string());
    let prepend_bos = RwSignal::new(true);
    let tokens = RwSignal::new(Vec::<TokenLoss>::new());
    let candidates = RwSignal::new(Vec::<Candidate>::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let patterns = RwSignal::new(None);

    let run = move |_| {
        busy.set(true);
        error.set(None);
        let request = Request::Inspect {
            text: text.get_untracked(),
            prepend_bos: prepend_bos.get_untracked(),
        };
        let (_, outcome) = state.worker().call(request, vec![], |_| {});
        leptos::task::spawn_local(async move {
            let outcome = outcome.await;
            busy.set(false);
            match outcome {
                Ok(Reply::Inspection(Inspection {
                    tokens: strip,
                    top_k,
                    patterns: attention,
                })) => {
                    tokens.set(strip);
                    candidates.set(top_k);
                    patterns.set(Some(attention));
                }
                Ok(other) => error.set(Some(format!("unexpected reply {other:?}"))),
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
