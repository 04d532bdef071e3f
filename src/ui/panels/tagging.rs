//! Frequency tagging's figures: the share of neurons tagged by layer (the paper's headline),
//! a layer's spectrum with the two rates marked, and the neurons of highest SNR, each opening
//! its activation over the stream.

use crate::experiments::Grid;
use crate::figures::{RANKED_BARS, Rule, lines_svg, scaled_bars, signal_svg};
use crate::history::RunRecord;
use crate::spec::Experiment;
use leptos::prelude::*;

/// The share of each layer's neurons tagged at the sentence and the phrase rate, beside the
/// shuffled control (dashed).
pub fn tagged_by_layer(run: &RunRecord) -> Option<AnyView> {
    let tagged = run.result.grid("hftp.tagged").filter(|g| by_rate(g))?;
    let layers = tagged.shape[0];
    let column = |grid: &Grid, c: usize| -> Vec<f32> {
        (0..layers).map(|l| grid.values[l * 2 + c]).collect()
    };
    let mut series = vec![];
    // A stored run's grids are checked one by one, not against each other.
    let shuffled = run
        .result
        .grid("hftp.tagged_shuffled")
        .filter(|g| g.shape == tagged.shape);
    for (c, rate) in ["sentence", "phrase"].into_iter().enumerate() {
        series.push((format!("{rate} rate"), column(tagged, c)));
        if let Some(shuffled) = shuffled {
            series.push((format!("{rate} rate, shuffled"), column(shuffled, c)));
        }
    }
    let labels: Vec<String> = (0..layers).map(|l| l.to_string()).collect();
    let svg = lines_svg(
        "hftp.tagged: share of neurons tagged, by layer",
        "share of MLP neurons",
        &labels,
        &series,
    );
    Some(
        view! { <figure class="line-chart" data-chart="hftp.tagged" inner_html=svg></figure> }
            .into_any(),
    )
}

/// Whether `grid` is `[layer, rate]` with the sentence and phrase rates.
fn by_rate(grid: &Grid) -> bool {
    matches!(grid.shape[..], [_, 2])
}

/// The rhythm of a frequency-tagging run: (tokens in the stream, words a sentence, words a
/// phrase).
fn rhythm(run: &RunRecord) -> Option<(usize, usize, usize)> {
    let Experiment::FrequencyTagging(params) = &run.result.spec.experiment else {
        return None;
    };
    let tokens = params.sentences.len() * params.words_per_sentence;
    Some((tokens, params.words_per_sentence, params.words_per_phrase))
}

/// One layer's mean amplitude by frequency, the sentence and phrase rates marked; the layer
/// is chosen in a list, the one with the most neurons tagged at the sentence rate first.
pub fn spectrum(run: &RunRecord) -> Option<AnyView> {
    let (tokens, per_sentence, per_phrase) = rhythm(run)?;
    let spectrum = run.result.grid("hftp.spectrum")?.clone();
    let [layers, bins] = spectrum.shape[..] else {
        return None;
    };
    if layers == 0 || bins == 0 {
        return None;
    }
    let most_tagged = run
        .result
        .grid("hftp.tagged")
        .filter(|tagged| by_rate(tagged) && tagged.shape[0] == layers)
        .and_then(|tagged| {
            (0..layers).max_by(|&a, &b| tagged.values[a * 2].total_cmp(&tagged.values[b * 2]))
        });
    let layer = RwSignal::new(most_tagged.unwrap_or(0));
    let labels: Vec<String> = (0..bins)
        .map(|k| format!("{:.3}", k as f32 / tokens as f32))
        .collect();
    let rules = vec![
        Rule {
            at: (tokens / per_sentence) as f32,
            label: format!("sentence rate 1/{per_sentence}"),
        },
        Rule {
            at: (tokens / per_phrase) as f32,
            label: format!("phrase rate 1/{per_phrase}"),
        },
    ];
    let svg = move || {
        let l = layer.get().min(layers - 1);
        signal_svg(
            &format!("hftp.spectrum: layer {l}'s mean amplitude by frequency"),
            "frequency (cycles per token)",
            "mean amplitude",
            &labels,
            &spectrum.values[l * bins..(l + 1) * bins],
            &rules,
        )
    };
    let options = (0..layers)
        .map(|l| view! { <option value=l.to_string() selected=move || layer.get() == l>{format!("layer {l}")}</option> })
        .collect_view();
    Some(view! {
        <figure class="signal" data-figure="hftp.spectrum" data-layer=move || layer.get().to_string()>
            <label>"Spectrum of "
                <select id="spectrum-layer" on:change=move |ev| {
                    if let Ok(l) = event_target_value(&ev).parse() {
                        layer.set(l);
                    }
                }>{options}</select>
            </label>
            <div inner_html=svg></div>
        </figure>
    }.into_any())
}

/// The neurons of highest SNR at each rate as ranked bars; a neuron's button shows its
/// activation over the stream (`hftp.traces`), the sentences' first words ruled.
pub fn tagged_neurons(run: &RunRecord) -> Option<AnyView> {
    let (_, per_sentence, _) = rhythm(run)?;
    let traces = run.result.grid("hftp.traces")?.clone();
    let chosen = RwSignal::new(None::<String>);
    let ranked = [
        ("hftp.snr_sentence", "Neurons by SNR at the sentence rate"),
        ("hftp.snr_phrase", "Neurons by SNR at the phrase rate"),
    ]
    .into_iter()
    .filter_map(|(name, title)| {
        let grid = run.result.grid(name)?;
        let rows = scaled_bars(grid, RANKED_BARS)
            .into_iter()
            .map(|(label, v, width)| {
                let pick = label.clone();
                let pressed = {
                    let label = label.clone();
                    move || (chosen.get().as_deref() == Some(&label)).to_string()
                };
                view! {
                    <tr data-bar=label.clone() data-value=v.to_string()>
                        <th scope="row"><button class="trace-neuron" aria-pressed=pressed on:click=move |_| chosen.set(Some(pick.clone()))>{label.clone()}</button></th>
                        <td class="ranked-value">{format!("{v:.2}")}</td>
                        <td class="ranked-bar"><span class="positive" style=format!("width:{width:.1}%")></span></td>
                    </tr>
                }
            })
            .collect_view();
        Some(view! {
            <figure class="ranked" data-ranked=name>
                <table><caption>{title}" (a neuron's button shows its activation over the stream)"</caption><tbody>{rows}</tbody></table>
            </figure>
        })
    })
    .collect_view();
    let trace = move || {
        let label = chosen.get()?;
        let neurons = traces.labels.first()?;
        let row = neurons.iter().position(|n| *n == label)?;
        let length = *traces.shape.get(1)?;
        let tokens = traces.labels.get(1).cloned().unwrap_or_default();
        let values = &traces.values[row * length..(row + 1) * length];
        let rules: Vec<Rule> = (0..length)
            .step_by(per_sentence)
            .map(|t| Rule {
                at: t as f32,
                label: String::new(),
            })
            .collect();
        let svg = signal_svg(
            &format!("{label}: activation over the stream (grey: each sentence's first word)"),
            "token",
            "mlp.hook_post",
            &tokens,
            values,
            &rules,
        );
        Some(view! { <figure class="signal" data-trace=label inner_html=svg></figure> })
    };
    Some(view! { <div class="tagged-neurons">{ranked}{trace}</div> }.into_any())
}
