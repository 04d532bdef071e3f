//! nnsight scripts: the Hugging Face GPT-2 under `TransformersModel`, each experiment a loop of
//! `model.trace` contexts that read (`.save()`) and write module inputs and outputs; with
//! `--remote` the same traces run on NDIF. TransformerLens hooks map onto GPT-2's modules as
//! `SITES` in the script says. What has no module of its own is computed from the modules
//! around it: attention patterns from `attn.c_attn`'s q and k (patched by rewriting the head's
//! `z = pattern @ v`), a head's own q/k/v input gradient from `attn.c_attn`'s output gradient
//! back through `ln_1`. Interventions while generating act on the same modules, in the order the
//! forward pass reaches them (the LayerNorms' scale and normalized value have no module: refused
//! by name).

use super::ExportError;
use super::python::{boolean, float, list, long_list, methods, prompt, string};
use super::transformer_lens::{GENERATE, continuation, generation_config, metric, steering_vector};
use crate::experiments::AttributionTarget;
use crate::experiments::steering::SteerAt;
use crate::experiments::{AblationKind, AblationTarget, PatchTarget, ablation, attribution};
use crate::hooks::{BlockHook, HookPoint};
use crate::spec::{Experiment, Spec};

pub fn script(spec: &Spec) -> Result<String, ExportError> {
    Ok(super::assemble(
        spec,
        super::Parts {
            library: super::Library::Nnsight,
            prelude: PRELUDE,
            tokens: TOKENS,
            metric: metric(spec.metric),
            body: experiment(spec)?,
        },
    ))
}

/// A block's `[batch, pos, d_model]` hook as one of the prelude's `SITES` and its layer.
fn residual_site(hook: HookPoint) -> Option<(&'static str, usize)> {
    let HookPoint::Block(layer, hook) = hook else {
        return None;
    };
    let site = match hook {
        BlockHook::ResidPre => "hook_resid_pre",
        BlockHook::ResidMid => "hook_resid_mid",
        BlockHook::ResidPost => "hook_resid_post",
        BlockHook::AttnOut => "hook_attn_out",
        BlockHook::MlpOut => "hook_mlp_out",
        _ => return None,
    };
    Some((site, layer))
}

/// Whether an intervention at `hook` has a module to act on in transformers' GPT-2 (the
/// LayerNorms' scale and normalized value and the unembedding's hooks have none).
fn has_site(hook: HookPoint) -> bool {
    use BlockHook as B;
    match hook {
        HookPoint::Embed | HookPoint::PosEmbed => true,
        HookPoint::Block(_, hook) => !matches!(
            hook,
            B::Ln1Scale | B::Ln1Normalized | B::Ln2Scale | B::Ln2Normalized
        ),
        _ => false,
    }
}

fn unsupported(what: &str) -> ExportError {
    ExportError(format!(
        "{what} has no nnsight export yet; export it for TransformerLens or run it with `patchbay run`"
    ))
}

const PRELUDE: &str = include_str!("nnsight/prelude.py");

const TOKENS: &str = include_str!("nnsight/tokens.py");
const SAE_FEATURES: &str = include_str!("nnsight/sae_features.py");
const DIRECTION: &str = include_str!("nnsight/direction.py");
const ASSOCIATION: &str = include_str!("nnsight/association.py");
const FREQUENCY: &str = include_str!("nnsight/frequency.py");

/// The site of a TransformerLens hook name in the script's `SITES`, with the grid axes of
/// the patching target.
fn patch_site(target: PatchTarget) -> Result<(&'static str, &'static str), ExportError> {
    use PatchTarget as T;
    Ok(match target {
        T::ResidPre => ("hook_resid_pre", "[\"layer\", \"pos\"]"),
        T::ResidMid => ("hook_resid_mid", "[\"layer\", \"pos\"]"),
        T::ResidPost => ("hook_resid_post", "[\"layer\", \"pos\"]"),
        T::AttnOut => ("hook_attn_out", "[\"layer\", \"pos\"]"),
        T::MlpOut => ("hook_mlp_out", "[\"layer\", \"pos\"]"),
        T::AttnHeadOutAllPos => ("attn.hook_z", "[\"layer\", \"head\"]"),
        T::AttnHeadOutByPos => ("attn.hook_z", "[\"layer\", \"pos\", \"head\"]"),
        T::AttnHeadQAllPos => ("attn.hook_q", "[\"layer\", \"head\"]"),
        T::AttnHeadQByPos => ("attn.hook_q", "[\"layer\", \"pos\", \"head\"]"),
        T::AttnHeadKAllPos => ("attn.hook_k", "[\"layer\", \"head\"]"),
        T::AttnHeadKByPos => ("attn.hook_k", "[\"layer\", \"pos\", \"head\"]"),
        T::AttnHeadVAllPos => ("attn.hook_v", "[\"layer\", \"head\"]"),
        T::AttnHeadVByPos => ("attn.hook_v", "[\"layer\", \"pos\", \"head\"]"),
        T::AttnHeadPatternAllPos => ("attn.hook_pattern", "[\"layer\", \"head\"]"),
        T::AttnHeadPatternByPos => ("attn.hook_pattern", "[\"layer\", \"pos\", \"head\"]"),
    })
}

fn experiment(spec: &Spec) -> Result<String, ExportError> {
    match &spec.experiment {
        Experiment::ActivationPatching(params) => Ok(format!(
            "{}{}",
            patching(&params.targets)?,
            params
                .features
                .as_ref()
                .map(|targets| feature_targets(targets, &[super::SAE_PATCH]))
                .unwrap_or_default()
        )),
        Experiment::Ablation(params) => Ok(ablation_sweep(params)),
        Experiment::Generation(params) => {
            if params.generation.num_beams > 1
                && (!params.interventions.is_empty() || params.features.is_some())
            {
                return Err(unsupported(
                    "beam search with interventions or feature edits",
                ));
            }
            if let Some(i) = params.interventions.iter().find(|i| !has_site(i.hook)) {
                return Err(unsupported(&format!("an intervention at {}", i.hook)));
            }
            let (interventions, steer) = match &params.features {
                None if params.interventions.is_empty() => (String::new(), "None"),
                features => (
                    super::transformer_lens::intervention_code(&params.interventions, INTERVENE)
                        + &features
                            .as_ref()
                            .map(|features| {
                                super::feature_edits(features, super::SAE_TORCH) + FEATURE_EDITS
                            })
                            .unwrap_or_default(),
                    "intervene",
                ),
            };
            Ok(format!(
                "{GENERATE}{GENERATE_NN}{config}\n{interventions}\nPROMPT = {prompt}\nprompt_ids = to_ids(PROMPT, {bos})\nresults[\"generations\"][\"default\"] = {{\"prompt\": prompt_ids, \"generation\": {continuation}}}\n",
                config = generation_config(&params.generation, spec, BEAMS)?,
                continuation = continuation(&params.generation, steer),
                prompt = prompt(&params.prompt),
                bos = boolean(params.prepend_bos),
            ))
        }
        Experiment::Steering(params) if params.generation.num_beams > 1 => {
            Err(unsupported("steering with beam search"))
        }
        Experiment::Steering(params) => {
            let site = residual_site(params.hook)
                .ok_or_else(|| unsupported(&format!("steering at {}", params.hook)))?;
            Ok(format!(
                "{GENERATE}{GENERATE_NN}{config}\nSITE, LAYER = {site}, {layer}\nCOEFF = {coeff}\nbos = {bos}\n{vector}{steering}",
                steering = match params.at {
                    SteerAt::EveryPosition => STEERING,
                    SteerAt::Front => STEERING_FRONT,
                },
                config = generation_config(&params.generation, spec, BEAMS)?,
                site = string(site.0),
                layer = site.1,
                coeff = float(params.coeff),
                bos = boolean(params.prepend_bos),
                vector = match params.at {
                    SteerAt::EveryPosition => steering_vector(params, STEERING_VECTOR),
                    SteerAt::Front => steering_vector(params, ""),
                },
            ))
        }
        Experiment::LogitLens(_) => Ok(LENS.to_string()),
        Experiment::AttributionPatching(params) => Ok(format!(
            "{}{}",
            attribution(params)?,
            params
                .features
                .as_ref()
                .map(|targets| feature_targets(
                    targets,
                    super::attribution_feature_parts(params.compare)
                ))
                .unwrap_or_default()
        )),
        Experiment::SaeAttribution(params) => Ok(format!(
            "{}{RELP}{GRADIENTS}{}",
            methods(&[params.method], &params.relp_rules),
            super::sae_attribution(params, super::SAE_TORCH, SAE_ACCESS),
        )),
        Experiment::SaeFeatures(params) => Ok(format!(
            "{}{}{}{}{SAE_FEATURES}",
            super::SAE_FOLDER,
            super::SAE_TORCH,
            super::SAE_FEATURES_COMMON,
            super::sae_constants(params),
        )),
        Experiment::Circuit(params) => Ok(format!(
            "\nKEEP = {}\n{CIRCUIT}",
            list(params.keep.iter().map(|[l, h]| format!("({l}, {h})")))
        )),
        Experiment::PathPatching(params) => Ok(format!(
            "{}{PATH}",
            super::transformer_lens::path_constants(params)
        )),
        Experiment::EdgeAttributionPatching(params) => Ok(format!(
            "{}{RELP}{EDGES}",
            methods(&params.methods, &params.relp_rules)
        )),
        Experiment::Loss(params) => Ok(format!(
            "{}{NEXT_TOKEN}{LOSS}",
            super::transformer_lens::loss_constants(params)
        )),
        Experiment::Repetition(params) => Ok(format!(
            "{}{NEXT_TOKEN}{REPETITION}",
            super::transformer_lens::repetition_constants(params)
        )),
        Experiment::NeuronDla(params) => Ok(format!("\nTOP = {}\n{NEURONS}", params.top)),
        Experiment::FrequencyTagging(params) => Ok(format!(
            "{}{FREQUENCY}{}",
            super::transformer_lens::frequency_constants(params, spec.seed),
            super::transformer_lens::FREQUENCY_TAGGING,
        )),
        Experiment::AssociationTest(params) => {
            let (site, layer) = match params.hook {
                HookPoint::Embed => ("hook_embed", 0),
                hook => residual_site(hook)
                    .ok_or_else(|| unsupported(&format!("an association test at {hook}")))?,
            };
            Ok(format!(
                "{}SITE, LAYER = {}, {layer}\n{ASSOCIATION}{}",
                super::transformer_lens::association_constants(params, spec.seed),
                string(site),
                super::transformer_lens::ASSOCIATION_TEST,
            ))
        }
        Experiment::Direction(params) => {
            let (site, layer) = residual_site(params.hook)
                .ok_or_else(|| unsupported(&format!("a direction at {}", params.hook)))?;
            Ok(format!(
                "{}SITE, LAYER = {}, {layer}\n{DIRECTION}{}",
                super::transformer_lens::direction_constants(params),
                string(site),
                super::transformer_lens::DIRECTION_FOUND,
            ))
        }
    }
}

fn patching(targets: &[PatchTarget]) -> Result<String, ExportError> {
    let rows = targets
        .iter()
        .map(|&t| {
            let (site, axes) = patch_site(t)?;
            Ok(format!("({}, {}, {axes})", string(t.name()), string(site)))
        })
        .collect::<Result<Vec<_>, ExportError>>()?;
    Ok(format!(
        r#"{PATCH}
clean_value = run(clean_tokens).mean().item()
corrupted_value = run(corrupted_tokens).mean().item()
results["metrics"].update(clean=clean_value, corrupted=corrupted_value)
for name, site, axes in {rows}:
    patch(name, site, axes)
"#,
        rows = long_list(rows)
    ))
}

/// Activation patching of one target, a trace a cell.
const PATCH: &str = include_str!("nnsight/patch.py");

fn ablation_sweep(params: &ablation::Params) -> String {
    let kind = match params.ablation {
        AblationKind::Zero => "zero",
        AblationKind::Mean => "mean",
        AblationKind::Resample => "resample",
    };
    let (site, units, name, axes) = match &params.target {
        AblationTarget::Heads => (
            "attn.hook_z",
            "[(layer, (slice(None), slice(None), head_slice(\"attn.hook_z\", head))) for layer in range(n_layers) for head in range(n_heads)]".to_string(),
            format!("ablate.{kind}_head_z"),
            "[\"layer\", \"head\"], (n_layers, n_heads)",
        ),
        AblationTarget::Mlp => (
            "hook_mlp_out",
            "[(layer, (slice(None),)) for layer in range(n_layers)]".to_string(),
            format!("ablate.{kind}_mlp_out"),
            "[\"layer\"], (n_layers,)",
        ),
        AblationTarget::Neurons { layer, neurons } => (
            "mlp.hook_post",
            format!(
                "[({layer}, (slice(None), slice(None), neuron)) for neuron in {}]",
                if neurons.is_empty() {
                    "range(4 * model.config.n_embd if model.config.n_inner is None else model.config.n_inner)".to_string()
                } else {
                    list(neurons.iter().map(usize::to_string))
                }
            ),
            format!("ablate.{kind}_mlp_post_{layer}"),
            "[\"neuron\"], (-1,)",
        ),
    };
    let value = match params.ablation {
        AblationKind::Zero => "0.0",
        // Over the batch and every position of the clean run, <|endoftext|> included.
        AblationKind::Mean => "clean[layer][every_position(index)].mean((0, 1))",
        AblationKind::Resample => "corrupted[layer][index]",
    };
    let corrupted = if params.ablation == AblationKind::Resample {
        "corrupted = activations(corrupted_tokens, SITE)\n"
    } else {
        ""
    };
    let position = match params.position {
        Some(p) => format!(
            "\n# Knocked out at position {p} only.\nunits = [(layer, index[:1] + ({p},) + index[2:]) for layer, index in units]\n"
        ),
        None => String::new(),
    };
    format!(
        r#"
# {kind} ablation, one unit at a time, on the clean prompts.
SITE = {site}
results["metrics"]["clean"] = run(clean_tokens).mean().item()
clean = activations(clean_tokens, SITE)
{corrupted}units = {units}
{position}

def every_position(index):
    """The unit at every position (a mean ablation's mean is over all of them)."""
    return index[:1] + (slice(None),) + index[2:]


per_prompt = torch.stack([run(clean_tokens, SITE, layer, index, {value}) for layer, index in units])
axes, shape = {axes}
per_prompt = per_prompt.reshape(*shape, n_prompts)
grid({name}, axes, per_prompt.mean(-1))
grid({name_pp}, axes + ["prompt"], per_prompt)
"#,
        site = string(site),
        name = string(&name),
        name_pp = string(&format!("{name}_per_prompt")),
    )
}

/// The decoding loop of the TransformerLens script, each step one trace (with `steer`, a
/// function writing into the trace, when given).
const GENERATE_NN: &str = include_str!("nnsight/generate_nn.py");
/// `intervene()`: the interventions at their modules, inside a trace.
const INTERVENE: &str = include_str!("nnsight/intervene.py");

const BEAMS: &str = include_str!("nnsight/beams.py");

const STEERING: &str = include_str!("nnsight/steering.py");

const STEERING_VECTOR: &str = include_str!("nnsight/steering_vector.py");

/// TransformerLens's logit-lens quantities, from the modules' values at the last position:
/// `accumulated_resid` (each block's input and middle, then the final stream),
/// `decompose_resid` (embeddings, then each block's attention and MLP outputs),
/// `stack_head_results` (each head's `z · W_O[h]`), with both LayerNorm conventions.
const LENS: &str = include_str!("nnsight/lens.py");

/// The site of each attribution target (q, k and v are thirds of one module's output), the
/// axes summed away and the grid's axes.
fn attribution_target(
    target: AttributionTarget,
) -> Result<(&'static str, &'static str, &'static str), ExportError> {
    use AttributionTarget as T;
    Ok(match target {
        T::Z => ("attn.hook_z", "(0, 1, 3)", r#"["layer", "head"]"#),
        T::ZByPos => ("attn.hook_z", "(0, 3)", r#"["layer", "pos", "head"]"#),
        T::ResidPre => ("hook_resid_pre", "(0, 2)", r#"["layer", "pos"]"#),
        T::AttnOut => ("hook_attn_out", "(0, 2)", r#"["layer", "pos"]"#),
        T::MlpOut => ("hook_mlp_out", "(0, 2)", r#"["layer", "pos"]"#),
        T::Q => ("attn.hook_q", "(0, 1, 3)", r#"["layer", "head"]"#),
        T::K => ("attn.hook_k", "(0, 1, 3)", r#"["layer", "head"]"#),
        T::V => ("attn.hook_v", "(0, 1, 3)", r#"["layer", "head"]"#),
        T::Pattern => ("attn.hook_pattern", "(0, 2, 3)", r#"["layer", "head"]"#),
    })
}

fn attribution(params: &attribution::Params) -> Result<String, ExportError> {
    let rows = params
        .targets
        .iter()
        .map(|&t| {
            let (site, dims, axes) = attribution_target(t)?;
            Ok(format!(
                "({}, {}, {dims}, {axes}, {})",
                string(t.as_str()),
                string(site),
                string(t.patch_target().name())
            ))
        })
        .collect::<Result<Vec<_>, ExportError>>()?;
    let mut out = format!(
        "\n# (estimate, site, axes summed away, grid axes, the activation patching it estimates)\nTARGETS = {}\n{}{RELP}{GRADIENTS}{ATTRIBUTION}",
        long_list(rows),
        methods(&params.methods, &params.relp_rules),
    );
    if params.compare {
        out.push_str(PATCH);
        out.push_str(COMPARE);
    }
    Ok(out)
}

/// An SAE's features as patching targets, at the SAE's site in transformers' GPT-2.
fn feature_targets(
    targets: &crate::experiments::feature_patching::FeatureTargets,
    parts: &[&str],
) -> String {
    super::feature_targets(targets, super::SAE_TORCH, SAE_ACCESS, parts)
}

const SAE_ACCESS: &str = include_str!("nnsight/sae_access.py");

/// The feature edits applied before the interventions at the SAE's hook.
const FEATURE_EDITS: &str = include_str!("nnsight/feature_edits.py");

/// `forward_backward(tokens, needed, rules)`: activations and the metric's gradients at sites,
/// read in the backward pass's order (the reverse of the forward's).
const GRADIENTS: &str = include_str!("nnsight/gradients.py");

/// Attribution patching from one forward and backward trace per side.
const ATTRIBUTION: &str = include_str!("nnsight/attribution.py");

/// RelP's rules as replaced module outputs inside a trace, and the LayerNorm backward step
/// (both rules) that edges need.
const RELP: &str = include_str!("nnsight/relp.py");

const COMPARE: &str = include_str!("nnsight/compare.py");

const STEERING_FRONT: &str = include_str!("nnsight/steering_front.py");

const NEXT_TOKEN: &str = include_str!("nnsight/next_token.py");

const LOSS: &str = include_str!("nnsight/loss.py");

const REPETITION: &str = include_str!("nnsight/repetition.py");

const NEURONS: &str = include_str!("nnsight/neurons.py");

const PATH: &str = include_str!("nnsight/path.py");

/// Edge attribution patching: transformers' GPT-2 reads every head's q, k and v from one
/// `ln_1` output, so each head's own input gradient is taken by hand — the gradient at its
/// slice of `attn.c_attn`'s output, back through its columns of the weight and through `ln_1`.
const EDGES: &str = include_str!("nnsight/edges.py");

const CIRCUIT: &str = include_str!("nnsight/circuit.py");
