//! TransformerLens scripts: a `HookedTransformer` with GPT-2's weights as they are, the
//! library's patching functions (`transformer_lens.patching.get_act_patch_*`),
//! `run_with_cache`, `run_with_hooks` and `ActivationCache`'s logit-lens methods.

use super::ExportError;
use super::python::{boolean, float, list, long_list, methods, prompt, string};
use crate::experiments::AttributionTarget;
use crate::experiments::generation::GenerationConfig;
use crate::experiments::steering::SteerAt;
use crate::experiments::{
    AblationKind, AblationTarget, Metric, PatchTarget, ablation, attribution, path,
};
use crate::spec::{Experiment, Spec};

/// TransformerLens 4's script or 3.x's: the same experiment code on the bridge (in
/// compatibility mode) or on a `HookedTransformer`.
pub fn script(spec: &Spec, library: super::Library) -> Result<String, ExportError> {
    Ok(super::assemble(
        spec,
        super::Parts {
            library,
            prelude: match library {
                super::Library::TransformerLens3 => PRELUDE_3,
                _ => PRELUDE,
            },
            tokens: TOKENS,
            metric: metric(spec.metric),
            body: experiment(spec, library)?,
        },
    ))
}

/// Imports and `load_model` for each version, then what every script shares (arguments, the
/// model, `results`, `grid`, `to_ids`).
const PRELUDE: &str = concat!(
    include_str!("transformer_lens/prelude.py"),
    include_str!("transformer_lens/session.py")
);
const PRELUDE_3: &str = concat!(
    include_str!("transformer_lens/prelude3.py"),
    include_str!("transformer_lens/session.py")
);

const TOKENS: &str = include_str!("transformer_lens/tokens.py");
const SAE_FEATURES: &str = include_str!("transformer_lens/sae_features.py");
const DIRECTION: &str = include_str!("transformer_lens/direction.py");
/// What both libraries do with the texts' vectors once they have them.
pub(super) const DIRECTION_FOUND: &str = include_str!("common/direction.py");

pub(super) fn metric(metric: Metric) -> &'static str {
    match metric {
        Metric::LogitDiff => {
            r#"

def metric_per_prompt(logits):
    """logit(correct) - logit(incorrect) at the last position, per prompt."""
    last = logits[:, -1, :]
    return last.gather(1, answers[:, :1])[:, 0] - last.gather(1, answers[:, 1:])[:, 0]
"#
        }
        Metric::AnswerProb => {
            r#"

def metric_per_prompt(logits):
    """The probability of the correct answer at the last position, per prompt."""
    return logits[:, -1, :].softmax(-1).gather(1, answers[:, :1])[:, 0]
"#
        }
        Metric::AnswerLoss => {
            r#"

def metric_per_prompt(logits):
    """-log p(correct answer) at the last position, per prompt."""
    return -logits[:, -1, :].log_softmax(-1).gather(1, answers[:, :1])[:, 0]
"#
        }
    }
}

const METRIC_MEAN: &str = include_str!("transformer_lens/metric_mean.py");

fn experiment(spec: &Spec, library: super::Library) -> Result<String, ExportError> {
    match &spec.experiment {
        Experiment::ActivationPatching(params) => Ok(format!(
            "{}{}",
            patching(&params.targets, library),
            params
                .features
                .as_ref()
                .map(|targets| feature_targets(targets, library, &[super::SAE_PATCH]))
                .unwrap_or_default()
        )),
        Experiment::Ablation(params) => Ok(ablation_sweep(params)),
        Experiment::LogitLens(_) => Ok(LENS.to_string()),
        Experiment::AttributionPatching(params) => Ok(format!(
            "{}{}",
            attribution(params, library),
            params
                .features
                .as_ref()
                .map(|targets| feature_targets(
                    targets,
                    library,
                    super::attribution_feature_parts(params.compare)
                ))
                .unwrap_or_default()
        )),
        Experiment::Generation(params) => {
            if params.generation.num_beams > 1
                && (!params.interventions.is_empty() || params.features.is_some())
            {
                return Err(ExportError(
                    "beam search with interventions or feature edits has no export yet; run it with `patchbay run`"
                        .into(),
                ));
            }
            Ok(format!(
                "{}{}{}\nPROMPT = {}\nprompt_ids = to_ids(PROMPT, {})\n{}{}results[\"generations\"][\"default\"] = {{\"prompt\": prompt_ids, \"generation\": {}}}\n",
                GENERATE,
                FORWARD,
                generation_config(&params.generation, spec, BEAMS)?,
                prompt(&params.prompt),
                boolean(params.prepend_bos),
                interventions(&params.interventions),
                params
                    .features
                    .as_ref()
                    .map(|features| feature_edits(features, library))
                    .unwrap_or_default(),
                continuation(&params.generation, "hooks"),
            ))
        }
        Experiment::Steering(params) if params.generation.num_beams > 1 => Err(ExportError(
            "steering with beam search has no export yet; run it with `patchbay run`".into(),
        )),
        Experiment::Steering(params) => Ok(format!(
            "{GENERATE}{FORWARD}{config}\nHOOK = {hook}\nCOEFF = {coeff}\nbos = {bos}\n{vector}{steering}",
            steering = match params.at {
                SteerAt::EveryPosition => STEERING,
                SteerAt::Front => STEERING_FRONT,
            },
            vector = match params.at {
                SteerAt::EveryPosition => steering_vector(params, STEERING_VECTOR),
                SteerAt::Front => steering_vector(params, ""),
            },
            config = generation_config(&params.generation, spec, BEAMS)?,
            hook = string(&params.hook.to_string()),
            coeff = float(params.coeff),
            bos = boolean(params.prepend_bos),
        )),
        Experiment::SaeAttribution(params) => Ok(format!(
            "{METRIC_MEAN}{}{RELP}{}",
            methods(&[params.method], &params.relp_rules),
            super::sae_attribution(
                params,
                match library {
                    super::Library::TransformerLens3 => super::SAE_LENS,
                    _ => super::SAE_TORCH,
                },
                SAE_ACCESS
            ),
        )),
        Experiment::SaeFeatures(params) => Ok(format!(
            "{}{}{}{}{SAE_FEATURES}",
            super::SAE_FOLDER,
            match library {
                super::Library::TransformerLens3 => super::SAE_LENS,
                _ => super::SAE_TORCH,
            },
            super::SAE_FEATURES_COMMON,
            super::sae_constants(params),
        )),
        Experiment::Circuit(params) => Ok(format!(
            "\nKEEP = {}\n{CIRCUIT}",
            list(params.keep.iter().map(|[l, h]| format!("({l}, {h})")))
        )),
        Experiment::PathPatching(params) => Ok(format!("{}{PATH}", path_constants(params))),
        Experiment::EdgeAttributionPatching(params) => Ok(format!(
            "{}{RELP}{split}{EDGES}",
            methods(&params.methods, &params.relp_rules),
            split = match library {
                super::Library::TransformerLens3 => SPLIT_LN_3,
                _ => SPLIT_LN,
            },
        )),
        Experiment::Loss(params) => Ok(format!("{}{LOSS}", loss_constants(params))),
        Experiment::Repetition(params) => {
            Ok(format!("{}{REPETITION}", repetition_constants(params)))
        }
        Experiment::NeuronDla(params) => Ok(format!("\nTOP = {}\n{NEURONS}", params.top)),
        Experiment::Direction(params) => Ok(format!(
            "{}HOOK = {}\n{DIRECTION}{DIRECTION_FOUND}",
            direction_constants(params),
            string(&params.hook.to_string())
        )),
        Experiment::FrequencyTagging(params) => Ok(format!(
            "{}{FREQUENCY}{FREQUENCY_TAGGING}",
            frequency_constants(params, spec.seed)
        )),
        Experiment::AssociationTest(params) => Ok(format!(
            "{}HOOK = {}\n{ASSOCIATION}{ASSOCIATION_TEST}",
            association_constants(params, spec.seed),
            string(&params.hook.to_string())
        )),
    }
}

const ASSOCIATION: &str = include_str!("transformer_lens/association.py");
const FREQUENCY: &str = include_str!("transformer_lens/frequency.py");
/// Frequency tagging once the activations are there (both libraries).
pub(super) const FREQUENCY_TAGGING: &str = include_str!("common/frequency.py");

/// A frequency-tagging spec's sentences and rhythm as the scripts' constants (both libraries).
pub(super) fn frequency_constants(
    params: &crate::experiments::frequency::Params,
    seed: u64,
) -> String {
    format!(
        "\nSENTENCES = {}\nWORDS_PER_SENTENCE = {}\nWORDS_PER_PHRASE = {}\nTHRESHOLD = {}\nSHUFFLED_CONTROL = {}\nTRACED = {}\nbos = {}\nSEED = {seed}\n",
        long_list(params.sentences.iter().map(prompt)),
        params.words_per_sentence,
        params.words_per_phrase,
        float(params.threshold),
        boolean(params.shuffled_control),
        crate::experiments::frequency::TRACED,
        boolean(params.prepend_bos),
    )
}
/// WEAT's statistics once the words' vectors are there (both libraries).
pub(super) const ASSOCIATION_TEST: &str = include_str!("common/association.py");

/// An association test's template and word sets as the scripts' constants (both libraries).
pub(super) fn association_constants(
    params: &crate::experiments::association::Params,
    seed: u64,
) -> String {
    let words = |set: &[String]| list(set.iter().map(|w| string(w)));
    format!(
        "\nTEMPLATE = {}\nX = {}\nY = {}\nA = {}\nB = {}\nbos = {}\nSEED = {seed}\n",
        string(&params.template),
        words(&params.targets[0]),
        words(&params.targets[1]),
        words(&params.attributes[0]),
        words(&params.attributes[1]),
        boolean(params.prepend_bos),
    )
}

/// A direction spec's texts and method as the scripts' constants (both libraries).
pub(super) fn direction_constants(params: &crate::experiments::direction::Params) -> String {
    let method = match params.method {
        crate::experiments::direction::Method::Pca => "pca",
        crate::experiments::direction::Method::MeanDifference => "mean_difference",
    };
    format!(
        "\nTEXTS = {}\nMETHOD = {}\nbos = {}\n",
        long_list(params.texts.iter().map(prompt)),
        string(method),
        boolean(params.prepend_bos)
    )
}

/// A steering spec's prompt and where its vector comes from, as the scripts' constants and
/// code (both libraries): the two phrases and `from_prompts` (the library's way to read their
/// difference), or a stored direction's values.
pub(super) fn steering_vector(
    params: &crate::experiments::steering::Params,
    from_prompts: &str,
) -> String {
    let steered = format!("STEERED_PROMPT = {}\n", prompt(&params.prompt));
    match (&params.direction, &params.positive, &params.negative) {
        (Some(direction), _, _) => format!(
            "{steered}DIRECTION_FROM = {}\nDIRECTION = {}\nvector = torch.tensor(DIRECTION)\ngrid(\"steer.vector\", [\"d_model\"], vector)\n",
            string(&direction.from),
            list(direction.values.iter().map(|v| float(*v))),
        ),
        (None, Some(positive), Some(negative)) => format!(
            "POSITIVE_PROMPT = {}\nNEGATIVE_PROMPT = {}\n{steered}{from_prompts}",
            prompt(positive),
            prompt(negative),
        ),
        _ => steered,
    }
}

/// A per-token-loss spec's texts as the scripts' constants (both libraries).
pub(super) fn loss_constants(params: &crate::experiments::loss::Params) -> String {
    format!(
        "\nTEXTS = {}\nbos = {}\n",
        long_list(params.texts.iter().map(prompt)),
        boolean(params.prepend_bos)
    )
}

/// A repetition spec's sentence and count as the scripts' constants (both libraries).
pub(super) fn repetition_constants(params: &crate::experiments::repetition::Params) -> String {
    format!(
        "\nSENTENCE = {}\nREPEATS = {}\nbos = {}\n",
        prompt(&params.sentence),
        params.repeats,
        boolean(params.prepend_bos)
    )
}

/// A path-patching spec's parameters as the scripts' constants (both libraries).
pub(super) fn path_constants(params: &path::Params) -> String {
    let (receivers, input, grid) = match &params.receivers {
        path::Receivers::FinalResid => (String::new(), "q", "head_to_final_resid".to_string()),
        path::Receivers::Heads { heads, input } => (
            heads
                .iter()
                .map(|(l, h)| format!("({l}, {h})"))
                .collect::<Vec<_>>()
                .join(", "),
            input.as_str(),
            format!("head_to_receivers.{}", input.as_str()),
        ),
    };
    let direction = match params.direction {
        path::Direction::Noising => "noising",
        path::Direction::Denoising => "denoising",
    };
    format!(
        "\nDIRECTION = {}  # noising: the clean run measured, the sender from the corrupted one\nRECEIVERS = [{receivers}]  # (layer, head); none: the final residual stream\nINPUT = {}\nGRID = {}\n",
        string(direction),
        string(input),
        string(&grid),
    )
}

/// The spec's interventions as TransformerLens hooks (`hooks`), read from their JSON.
/// Hooks that edit an SAE's features, added before the interventions' (`hooks`).
fn feature_edits(features: &crate::sae::FeatureEdits, library: super::Library) -> String {
    let loader = match library {
        super::Library::TransformerLens3 => super::SAE_LENS,
        _ => super::SAE_TORCH,
    };
    format!(
        "{}\nhooks = [(SAE_HOOK, edit_features)] + hooks\n",
        super::feature_edits(features, loader)
    )
}

fn interventions(list: &[crate::hooks::Intervention]) -> String {
    if list.is_empty() {
        return "hooks = []\n".into();
    }
    intervention_code(list, INTERVENE)
}

/// The interventions as the spec has them, `intervened(intervention, x)` (both libraries) and
/// the library's way to reach the hooks (`apply`).
pub(super) fn intervention_code(list: &[crate::hooks::Intervention], apply: &str) -> String {
    let json = serde_json::to_string(list).expect("interventions serialise");
    format!(
        "INTERVENTIONS = json.loads({}){INTERVENED}{apply}",
        string(&json)
    )
}

fn patch_axes(target: PatchTarget) -> &'static str {
    let name = target.name();
    if name.ends_with("_by_pos") {
        r#"["layer", "pos", "head"]"#
    } else if name.ends_with("_all_pos") {
        r#"["layer", "head"]"#
    } else {
        r#"["layer", "pos"]"#
    }
}

/// TransformerLens has a function for every target but `resid_post`, which its generic
/// routine patches in the same way.
fn patch_function(target: PatchTarget) -> String {
    match target {
        PatchTarget::ResidPost => "partial(patching.generic_activation_patch, patch_setter=patching.layer_pos_patch_setter, activation_name=\"resid_post\", index_axis_names=(\"layer\", \"pos\"))".into(),
        other => format!("patching.get_act_patch_{}", other.name()),
    }
}

/// `per_prompt_sweep(patch)`: one of TransformerLens's patching functions run over the
/// corrupted prompts with each prompt's value kept, `[cells..., prompt]`. TransformerLens 4's
/// functions keep them (`reduce="none"`); 3.x's store one scalar a cell, in row-major order, so
/// the metric they are given records each prompt's value as it goes.
fn per_prompt_sweep(library: super::Library) -> &'static str {
    match library {
        super::Library::TransformerLens3 => {
            r#"def recording(values):
    """The mean metric, each prompt's value appended to `values`."""
    def metric_mean(logits):
        per_prompt = metric_per_prompt(logits)
        values.append(per_prompt)
        return per_prompt.mean()
    return metric_mean


def per_prompt_sweep(patch):
    values = []
    patched = patch(model, corrupted_tokens, clean_cache, recording(values))
    return torch.stack(values).reshape(*patched.shape, -1)
"#
        }
        _ => {
            r#"def per_prompt_sweep(patch):
    return patch(model, corrupted_tokens, clean_cache, metric_per_prompt, reduce="none").values
"#
        }
    }
}

/// TransformerLens's patching functions over every target, each prompt's value kept.
fn patching(targets: &[PatchTarget], library: super::Library) -> String {
    let rows: Vec<String> = targets
        .iter()
        .map(|&t| {
            format!(
                "({}, {}, {})",
                string(t.name()),
                patch_axes(t),
                patch_function(t)
            )
        })
        .collect();
    let sweep = per_prompt_sweep(library);
    format!(
        r#"{METRIC_MEAN}

# Activation patching as TransformerLens defines it: run the corrupted prompts, put back one
# clean activation at a time, score with the clean answers; each prompt's value kept.
{sweep}

clean_logits, clean_cache = model.run_with_cache(clean_tokens)
clean_value = metric(clean_logits).item()
corrupted_value = metric(model(corrupted_tokens)).item()
results["metrics"].update(clean=clean_value, corrupted=corrupted_value)
for name, axes, patch in {rows}:
    per_prompt = per_prompt_sweep(patch)
    patched = per_prompt.mean(-1)
    grid(f"patch.{{name}}", axes, patched)
    grid(f"patch.{{name}}.normalised", axes, (patched - corrupted_value) / (clean_value - corrupted_value))
    grid(f"patch.{{name}}.per_prompt", axes + ["prompt"], per_prompt)
"#,
        rows = long_list(rows)
    )
}

fn ablation_sweep(params: &ablation::Params) -> String {
    let kind = match params.ablation {
        AblationKind::Zero => "zero",
        AblationKind::Mean => "mean",
        AblationKind::Resample => "resample",
    };
    // The position to knock out, or all; a mean is always over every position.
    let at = |index: &str| match params.position {
        Some(p) => index
            .replacen(":, :", &format!(":, {p}"), 1)
            .replace("...", &format!(":, {p}")),
        None => index.to_string(),
    };
    let replacement = |index: &str| match params.ablation {
        AblationKind::Zero => "0.0".to_string(),
        AblationKind::Mean => format!("clean_cache[hook.name][{index}].mean((0, 1))"),
        AblationKind::Resample => format!("corrupted_cache[hook.name][{}]", at(index)),
    };
    let corrupted = if params.ablation == AblationKind::Resample {
        "_, corrupted_cache = model.run_with_cache(corrupted_tokens)\n"
    } else {
        ""
    };
    let (units, hook, index, name, axes) = match &params.target {
        AblationTarget::Heads => (
            "[(layer, head) for layer in range(model.cfg.n_layers) for head in range(model.cfg.n_heads)]".to_string(),
            "f\"blocks.{layer}.attn.hook_z\"",
            ":, :, head",
            format!("ablate.{kind}_head_z"),
            "[\"layer\", \"head\"]",
        ),
        AblationTarget::Mlp => (
            "[(layer, None) for layer in range(model.cfg.n_layers)]".to_string(),
            "f\"blocks.{layer}.hook_mlp_out\"",
            "...",
            format!("ablate.{kind}_mlp_out"),
            "[\"layer\"]",
        ),
        AblationTarget::Neurons { layer, neurons } => (
            if neurons.is_empty() {
                format!("[({layer}, neuron) for neuron in range(model.cfg.d_mlp)]")
            } else {
                format!(
                    "[({layer}, neuron) for neuron in {}]",
                    list(neurons.iter().map(usize::to_string))
                )
            },
            "f\"blocks.{layer}.mlp.hook_post\"",
            ":, :, neuron",
            format!("ablate.{kind}_mlp_post_{layer}"),
            "[\"neuron\"]",
        ),
    };
    let unit_name = match params.target {
        AblationTarget::Neurons { .. } => "neuron",
        _ => "head",
    };
    let shape = match params.target {
        AblationTarget::Heads => "(model.cfg.n_layers, model.cfg.n_heads, len(CLEAN))",
        AblationTarget::Mlp => "(model.cfg.n_layers, len(CLEAN))",
        AblationTarget::Neurons { .. } => "(len(units), len(CLEAN))",
    };
    let store = match params.target {
        AblationTarget::Heads => "per_prompt[layer, head]",
        AblationTarget::Mlp => "per_prompt[layer]",
        AblationTarget::Neurons { .. } => "per_prompt[i]",
    };
    format!(
        r#"{METRIC_MEAN}

# {kind} ablation, one unit at a time, on the clean prompts (a mean is over the batch and every
# position of the clean run, <|endoftext|> included).
clean_logits, clean_cache = model.run_with_cache(clean_tokens)
results["metrics"]["clean"] = metric(clean_logits).item()
{corrupted}units = {units}
per_prompt = torch.zeros{shape}
for i, (layer, {unit_name}) in enumerate(units):
    def ablate(activation, hook, {unit_name}={unit_name}):
        activation[{at_index}] = {replacement}
        return activation

    logits = model.run_with_hooks(clean_tokens, fwd_hooks=[({hook}, ablate)])
    {store} = metric_per_prompt(logits)
grid({name}, {axes}, per_prompt.mean(-1))
grid({name_pp}, {axes_pp}, per_prompt)
"#,
        replacement = replacement(index),
        at_index = at(index),
        name = string(&name),
        name_pp = string(&format!("{name}_per_prompt")),
        axes_pp = axes.replace(']', ", \"prompt\"]"),
    )
}

const LENS: &str = include_str!("transformer_lens/lens.py");

/// The hook, the axes summed away (batch first) and the grid's axes of each target.
fn attribution_target(target: AttributionTarget) -> (&'static str, &'static str, &'static str) {
    match target {
        AttributionTarget::Z => ("attn.hook_z", "(0, 1, 3)", r#"["layer", "head"]"#),
        AttributionTarget::ZByPos => ("attn.hook_z", "(0, 3)", r#"["layer", "pos", "head"]"#),
        AttributionTarget::ResidPre => ("hook_resid_pre", "(0, 2)", r#"["layer", "pos"]"#),
        AttributionTarget::AttnOut => ("hook_attn_out", "(0, 2)", r#"["layer", "pos"]"#),
        AttributionTarget::MlpOut => ("hook_mlp_out", "(0, 2)", r#"["layer", "pos"]"#),
        AttributionTarget::Q => ("attn.hook_q", "(0, 1, 3)", r#"["layer", "head"]"#),
        AttributionTarget::K => ("attn.hook_k", "(0, 1, 3)", r#"["layer", "head"]"#),
        AttributionTarget::V => ("attn.hook_v", "(0, 1, 3)", r#"["layer", "head"]"#),
        // [batch, head, query, key]
        AttributionTarget::Pattern => ("attn.hook_pattern", "(0, 2, 3)", r#"["layer", "head"]"#),
    }
}

fn attribution(params: &attribution::Params, library: super::Library) -> String {
    let targets = &params.targets;
    let mut hooks: Vec<&str> = targets.iter().map(|&t| attribution_target(t).0).collect();
    hooks.sort();
    hooks.dedup();
    let rows: Vec<String> = targets
        .iter()
        .map(|&t| {
            let (hook, dims, axes) = attribution_target(t);
            format!(
                "({}, {}, {dims}, {axes}, {})",
                string(t.as_str()),
                string(hook),
                string(t.patch_target().name())
            )
        })
        .collect();
    let mut out = format!(
        "{METRIC_MEAN}\nHOOKS = {}\n# (estimate, hook, axes summed away, grid axes, the activation patching it estimates)\nTARGETS = {}\n{}{RELP}{ATTRIBUTION}",
        list(hooks.iter().map(|h| string(h))),
        long_list(rows),
        methods(&params.methods, &params.relp_rules),
    );
    if params.compare {
        out.push_str("\n\n");
        out.push_str(per_prompt_sweep(library));
        out.push_str(ATTRIBUTION_COMPARE);
    }
    out
}

const ATTRIBUTION: &str = include_str!("transformer_lens/attribution.py");

/// An SAE's features as patching targets, through TransformerLens's hooks.
fn feature_targets(
    targets: &crate::experiments::feature_patching::FeatureTargets,
    library: super::Library,
    parts: &[&str],
) -> String {
    let loader = match library {
        super::Library::TransformerLens3 => super::SAE_LENS,
        _ => super::SAE_TORCH,
    };
    super::feature_targets(targets, loader, SAE_ACCESS, parts)
}

const SAE_ACCESS: &str = include_str!("transformer_lens/sae_access.py");

/// RelP's rules as forward hooks (`relp_hooks(rules)`).
const RELP: &str = include_str!("transformer_lens/relp.py");

/// `split_input_rules(rules)`: the LN-rule where a head's split q/k/v input is normalised.
/// The bridge does it outside ln1's hooks; HookedTransformer through them (nothing to add).
const SPLIT_LN: &str = include_str!("transformer_lens/split_ln.py");
const SPLIT_LN_3: &str = r#"


def split_input_rules(rules):
    """HookedTransformer normalises split q/k/v inputs through ln1.hook_scale: relp_hooks has them."""
    return []
"#;

const ATTRIBUTION_COMPARE: &str = include_str!("transformer_lens/attribution_compare.py");

/// The decoding settings as constants, with GeDi's model and functions when it guides and
/// transformers' beam-search arguments when beams are searched.
pub(super) fn generation_config(
    config: &GenerationConfig,
    spec: &Spec,
    beams: &str,
) -> Result<String, ExportError> {
    let optional = |value: Option<String>| value.unwrap_or_else(|| "None".into());
    let gedi = match &config.gedi {
        None => format!("\nGEDI = None\n{UNGUIDED}"),
        Some(g) => format!(
            "\nSPEC_MODEL = {}\nGEDI = {{\"model\": {}, \"desired\": {}, \"undesired\": {}, \"disc_weight\": {}, \"filter_p\": {}, \"target_p\": {}, \"class_bias\": {}}}\n{GEDI}",
            string(&spec.model.id),
            string(&g.model.id),
            string(&g.desired),
            string(&g.undesired),
            float(g.disc_weight),
            float(g.filter_p),
            float(g.target_p),
            float(g.class_bias),
        ),
    };
    let beam_search = if config.num_beams > 1 {
        if config.frequency_penalty != 0.0 || config.presence_penalty != 0.0 {
            return Err(ExportError(
                "beam search with frequency or presence penalties has no export yet (transformers' generate() has neither); run it with `patchbay run`".into(),
            ));
        }
        format!(
            "\nBEAM_SEARCH = dict(\n    max_new_tokens={max_new}, num_beams={n}, num_return_sequences={n}, length_penalty={lp},\n    no_repeat_ngram_size={nr}, repetition_penalty={rep}, do_sample=False, early_stopping=False,\n    eos_token_id={eos}, pad_token_id=model.tokenizer.eos_token_id,\n    bad_words_ids={bad}, sequence_bias={bias},\n    output_scores=True, return_dict_in_generate=True)\n{BEAMS_FOUND}{beams}",
            max_new = config.max_new_tokens,
            n = config.num_beams,
            lp = float(config.length_penalty),
            nr = config.no_repeat_ngram_size,
            rep = optional(config.repetition_penalty.map(float)),
            eos = if config.stop_at_eos {
                "model.tokenizer.eos_token_id"
            } else {
                "None"
            },
            bad = if config.banned_tokens.is_empty() {
                "None".to_string()
            } else {
                list(config.banned_tokens.iter().map(|t| format!("[{t}]")))
            },
            bias = if config.logit_bias.is_empty() {
                "None".to_string()
            } else {
                format!(
                    "{{{}}}",
                    config
                        .logit_bias
                        .iter()
                        .map(|(id, b)| format!("({id},): {}", float(*b)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        )
    } else {
        String::new()
    };
    Ok(format!(
        r#"
MAX_NEW_TOKENS = {max_new}
TEMPERATURE = {temperature}  # 0: greedy
TOP_K = {top_k}
TOP_P = {top_p}
REPETITION_PENALTY = {repetition}
FREQUENCY_PENALTY = {frequency}
PRESENCE_PENALTY = {presence}
LOGIT_BIAS = {{{bias}}}
BANNED = {banned}
STOP_AT_EOS = {stop}
SEED = {seed}
NO_REPEAT_NGRAM_SIZE = {no_repeat}
{gedi}{beam_search}"#,
        seed = spec.seed,
        no_repeat = config.no_repeat_ngram_size,
        max_new = config.max_new_tokens,
        temperature = float(config.temperature),
        top_k = optional(config.top_k.map(|k| k.to_string())),
        top_p = optional(config.top_p.map(float)),
        repetition = optional(config.repetition_penalty.map(float)),
        frequency = float(config.frequency_penalty),
        presence = float(config.presence_penalty),
        bias = config
            .logit_bias
            .iter()
            .map(|(id, bias)| format!("{id}: {}", float(*bias)))
            .collect::<Vec<_>>()
            .join(", "),
        banned = list(config.banned_tokens.iter().map(u32::to_string)),
        stop = boolean(config.stop_at_eos),
    ))
}

const GEDI: &str = include_str!("common/gedi.py");

/// `guide` without GeDi: the logits as they are.
const UNGUIDED: &str = r#"

def guide(sequence, logits):
    """No GeDi: the logits as they are, nothing recorded."""
    return logits, {}
"#;

const BEAMS_FOUND: &str = include_str!("common/beams.py");

const BEAMS: &str = include_str!("transformer_lens/beams.py");

/// What one continuation is: a beam search, or the step-by-step decoding with `hooks`.
pub(super) fn continuation(config: &GenerationConfig, hooks: &str) -> String {
    if config.num_beams > 1 {
        "generate_beams(prompt_ids)".into()
    } else {
        format!("generate(prompt_ids, {hooks})")
    }
}

/// Decoding as Patchbay does it, step by step with the model's hooks: Hugging Face's
/// repetition penalty, OpenAI's frequency and presence penalties, bias, bans; greedy, or
/// sampling with Patchbay's SplitMix64 stream so that a seed gives the same tokens.
pub(super) const GENERATE: &str = r#"

class SplitMix64:
    """Patchbay's sampler stream: the same seed gives the same draws."""

    def __init__(self, seed):
        self.state = seed

    def next_f64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) % 2**64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
        return ((z ^ (z >> 31)) >> 11) / 2.0**53


def f32(x):
    return float(torch.tensor(x, dtype=torch.float32))


def pick(logits, rng):
    """The next token from processed logits: the largest (ties to the lower id) when greedy."""
    if TEMPERATURE == 0:
        return int(torch.argmax(logits))
    values = logits.tolist()
    order = sorted(range(len(values)), key=lambda i: (-values[i], i))
    if TOP_K is not None and TOP_K < len(order):
        order = order[:TOP_K]
    scaled = [values[i] / f32(TEMPERATURE) for i in order]
    weights = [math.exp(s - scaled[0]) for s in scaled]
    total = sum(weights)
    probs = [w / total for w in weights]
    if TOP_P is not None:
        mass = 0.0
        for cut, p in enumerate(probs):
            mass += p
            if mass >= f32(TOP_P):
                probs = probs[:cut + 1]
                break
    target = rng.next_f64() * sum(probs)
    for i, p in enumerate(probs):
        target -= p
        if target < 0:
            return order[i]
    return order[len(probs) - 1]


def generate(prompt_ids, hooks):
    """New token ids after prompt_ids, each step a full forward pass with `hooks`."""
    rng = SplitMix64(SEED)
    sequence, generated, p_desired, filtered = list(prompt_ids), [], [], []
    for _ in range(MAX_NEW_TOKENS):
        logits = forward(torch.tensor([sequence]), hooks)[0, -1].clone()
        if REPETITION_PENALTY is not None:
            seen = torch.tensor(sorted(set(sequence)))
            chosen = logits[seen]
            logits[seen] = torch.where(chosen > 0, chosen / f32(REPETITION_PENALTY), chosen * f32(REPETITION_PENALTY))
        for token in sorted(set(generated)):
            logits[token] -= f32(FREQUENCY_PENALTY) * generated.count(token) + f32(PRESENCE_PENALTY)
        for token, bias in LOGIT_BIAS.items():
            logits[token] += f32(bias)
        for token in BANNED:
            logits[token] = float("-inf")
        for token in repeated_ngram_ends(sequence):
            logits[token] = float("-inf")
        logits, guided = guide(sequence, logits)
        token = pick(logits, rng)
        if guided:
            p_desired.append(math.exp(float(guided["lp_desired"][token])))
            filtered.append(guided["removed"])
        sequence.append(token)
        generated.append(token)
        if STOP_AT_EOS and token == model.tokenizer.eos_token_id:
            break
    if GEDI is not None:
        return {"new_ids": generated, "p_desired": p_desired, "filtered": filtered}
    return {"new_ids": generated}


def repeated_ngram_ends(sequence):
    """The tokens that would repeat an n-gram of the sequence (transformers' no_repeat_ngram_size)."""
    n = NO_REPEAT_NGRAM_SIZE
    if n == 0 or len(sequence) + 1 < n:
        return []
    prefix = sequence[len(sequence) + 1 - n:]
    return [sequence[i + n - 1] for i in range(len(sequence) - n + 1) if sequence[i:i + n - 1] == prefix]
"#;

const FORWARD: &str = include_str!("transformer_lens/forward.py");

const STEERING: &str = include_str!("transformer_lens/steering.py");

const STEERING_VECTOR: &str = include_str!("transformer_lens/steering_vector.py");

const STEERING_FRONT: &str = include_str!("transformer_lens/steering_front.py");

const LOSS: &str = include_str!("transformer_lens/loss.py");

const REPETITION: &str = include_str!("transformer_lens/repetition.py");

const NEURONS: &str = include_str!("transformer_lens/neurons.py");

const PATH: &str = include_str!("transformer_lens/path.py");

const EDGES: &str = include_str!("transformer_lens/edges.py");

const INTERVENE: &str = include_str!("transformer_lens/intervene.py");
const INTERVENED: &str = include_str!("common/intervention.py");

const CIRCUIT: &str = include_str!("transformer_lens/circuit.py");
