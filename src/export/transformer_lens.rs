//! TransformerLens scripts: a `HookedTransformer` with GPT-2's weights as they are, the
//! library's patching functions (`transformer_lens.patching.get_act_patch_*`),
//! `run_with_cache`, `run_with_hooks` and `ActivationCache`'s logit-lens methods.

use super::ExportError;
use super::python::{boolean, float, list, long_list, prompt, string};
use crate::experiments::AttributionTarget;
use crate::experiments::generation::GenerationConfig;
use crate::experiments::steering::SteerAt;
use crate::experiments::{AblationKind, AblationTarget, Metric, PatchTarget, ablation, path};
use crate::spec::{Experiment, Spec};

pub fn script(spec: &Spec) -> Result<String, ExportError> {
    Ok(super::assemble(
        spec,
        super::Parts {
            library: "TransformerLens (written against 3.9)",
            prelude: PRELUDE,
            tokens: TOKENS,
            metric: metric(spec.metric),
            body: experiment(spec)?,
        },
    ))
}

const PRELUDE: &str = r#"import itertools
import json
import math
import sys
from functools import partial
from pathlib import Path

import torch
import transformer_lens.patching as patching
from transformer_lens import HookedTransformer, HookedTransformerConfig
from transformer_lens.pretrained.weight_conversions.gpt2 import convert_gpt2_weights
from transformers import AutoTokenizer, GPT2LMHeadModel

torch.set_grad_enabled(False)


def load_model(source):
    """GPT-2 as a HookedTransformer with its weights as they are (no LayerNorm folding or
    centring), as Patchbay runs it: from the hub by id, or from a local folder."""
    if not Path(source).is_dir():
        name = source.removeprefix("openai-community/")
        return HookedTransformer.from_pretrained_no_processing(name, device="cpu")
    hf = GPT2LMHeadModel.from_pretrained(source, attn_implementation="eager")
    c = hf.config
    cfg = HookedTransformerConfig(
        d_model=c.n_embd, d_head=c.n_embd // c.n_head, n_heads=c.n_head,
        d_mlp=c.n_inner or 4 * c.n_embd, n_layers=c.n_layer, n_ctx=c.n_positions,
        eps=c.layer_norm_epsilon, d_vocab=c.vocab_size, act_fn=c.activation_function,
        normalization_type="LN", positional_embedding_type="standard",
        original_architecture="GPT2LMHeadModel", default_prepend_bos=True, device="cpu",
    )
    model = HookedTransformer(cfg, tokenizer=AutoTokenizer.from_pretrained(source))
    model.load_and_process_state_dict(
        convert_gpt2_weights(hf, cfg), fold_ln=False, center_writing_weights=False,
        center_unembed=False, fold_value_biases=False, refactor_factored_attn_matrices=False)
    return model.eval()


if len(sys.argv) != 3:
    sys.exit(f"usage: python {sys.argv[0]} MODEL OUT.json   (MODEL: a hub id or a model folder)")
model = load_model(sys.argv[1])
results = {"grids": {}, "metrics": {}, "generations": {}}


def grid(name, axes, values):
    """A result grid as `patchbay run` writes it: its axes, shape and row-major values."""
    values = values.detach().float().cpu()
    results["grids"][name] = {"axes": axes, "shape": list(values.shape), "values": values.flatten().tolist()}


def to_ids(prompt, prepend_bos):
    """Text is tokenized (after <|endoftext|> when prepend_bos); token ids are taken as they are."""
    if isinstance(prompt, str):
        return model.to_tokens(prompt, prepend_bos=prepend_bos)[0].tolist()
    return list(prompt)
"#;

const TOKENS: &str = r#"

def to_token(token):
    return token if isinstance(token, int) else model.to_single_token(token)


clean_tokens = to_tokens(CLEAN)
corrupted_tokens = to_tokens(CORRUPTED) if CORRUPTED else None
answers = torch.tensor([[to_token(c), to_token(i)] for c, i in ANSWERS])
"#;

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

const METRIC_MEAN: &str = r#"

def metric(logits):
    """The metric over the batch: its mean (what TransformerLens's patching functions record)."""
    return metric_per_prompt(logits).mean()
"#;

fn experiment(spec: &Spec) -> Result<String, ExportError> {
    match &spec.experiment {
        Experiment::ActivationPatching(params) => Ok(patching(&params.targets)),
        Experiment::Ablation(params) => Ok(ablation_sweep(params)),
        Experiment::LogitLens => Ok(LENS.to_string()),
        Experiment::AttributionPatching(params) => Ok(attribution(&params.targets, params.compare)),
        Experiment::Generation(params) => Ok(format!(
            "{}{}{}\nPROMPT = {}\nprompt_ids = to_ids(PROMPT, {})\n{}",
            GENERATE,
            FORWARD,
            generation_config(&params.generation, spec.seed),
            prompt(&params.prompt),
            boolean(params.prepend_bos),
            interventions(&params.interventions),
        ) + "results[\"generations\"][\"default\"] = {\"prompt\": prompt_ids, \"generation\": generate(prompt_ids, hooks)}\n"),
        Experiment::Steering(params) => Ok(format!(
            "{GENERATE}{FORWARD}{config}\nHOOK = {hook}\nCOEFF = {coeff}\nbos = {bos}\n{phrases}{steering}",
            steering = match params.at {
                SteerAt::EveryPosition => STEERING,
                SteerAt::Front => STEERING_FRONT,
            },
            config = generation_config(&params.generation, spec.seed),
            hook = string(&params.hook.to_string()),
            coeff = float(params.coeff),
            bos = boolean(params.prepend_bos),
            phrases = steering_phrases(params),
        )),
        Experiment::Circuit(params) => Ok(format!(
            "\nKEEP = {}\n{CIRCUIT}",
            list(params.keep.iter().map(|[l, h]| format!("({l}, {h})")))
        )),
        Experiment::PathPatching(params) => Ok(format!("{}{PATH}", path_constants(params))),
        Experiment::EdgeAttributionPatching(_) => Ok(EDGES.to_string()),
        Experiment::Loss(params) => Ok(format!("{}{LOSS}", loss_constants(params))),
        Experiment::Repetition(params) => {
            Ok(format!("{}{REPETITION}", repetition_constants(params)))
        }
        Experiment::NeuronDla(params) => Ok(format!("\nTOP = {}\n{NEURONS}", params.top)),
    }
}

/// A steering spec's three phrases as the scripts' constants (both libraries).
pub(super) fn steering_phrases(params: &crate::experiments::steering::Params) -> String {
    format!(
        "POSITIVE_PROMPT = {}\nNEGATIVE_PROMPT = {}\nSTEERED_PROMPT = {}\n",
        prompt(&params.positive),
        prompt(&params.negative),
        prompt(&params.prompt)
    )
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
fn interventions(list: &[crate::hooks::Intervention]) -> String {
    if list.is_empty() {
        return "hooks = []\n".into();
    }
    let json = serde_json::to_string(list).expect("interventions serialise");
    format!("INTERVENTIONS = json.loads({})\n{INTERVENE}", string(&json))
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

fn patching(targets: &[PatchTarget]) -> String {
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
    format!(
        r#"{METRIC_MEAN}

# Activation patching as TransformerLens defines it: run the corrupted prompts, put back one
# clean activation at a time, score with the clean answers. Its functions record the mean
# metric of each cell; Patchbay's `.per_prompt` grids are not computed here.
clean_logits, clean_cache = model.run_with_cache(clean_tokens)
clean_value = metric(clean_logits).item()
corrupted_value = metric(model(corrupted_tokens)).item()
results["metrics"].update(clean=clean_value, corrupted=corrupted_value)
for name, axes, patch in {rows}:
    patched = patch(model, corrupted_tokens, clean_cache, metric)
    grid(f"patch.{{name}}", axes, patched)
    grid(f"patch.{{name}}.normalised", axes, (patched - corrupted_value) / (clean_value - corrupted_value))
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

const LENS: &str = r#"
# The logit lens and direct logit attribution onto each prompt's logit-difference direction,
# with ActivationCache's methods, at the last position. Two LayerNorm conventions: "cached"
# divides by the final LayerNorm's scale from the run (apply_ln_to_stack), "recomputed" applies
# ln_final to each partial stream.
clean_logits, cache = model.run_with_cache(clean_tokens)
results["metrics"]["clean"] = metric_per_prompt(clean_logits).mean().item()
directions = model.tokens_to_residual_directions(answers)
directions = directions[:, 0] - directions[:, 1]
grid("lens.logit_diff_directions", ["prompt", "d_model"], directions)


def lens(name, stack):
    grid(f"lens.{name}", ["component", "prompt", "d_model"], stack)
    per_prompt = (stack * directions).sum(-1)
    grid(f"lens.{name}_logit_diff_per_prompt", ["component", "prompt"], per_prompt)
    grid(f"lens.{name}_logit_diff", ["component"], per_prompt.mean(-1))


raw = cache.accumulated_resid(layer=-1, incl_mid=True, apply_ln=False, pos_slice=-1)
lens("accumulated_resid_raw", raw)
lens("accumulated_resid_ln_recomputed", cache.accumulated_resid(layer=-1, incl_mid=True, apply_ln=True, pos_slice=-1))
lens("accumulated_resid_ln_cached", cache.apply_ln_to_stack(raw, layer=-1, pos_slice=-1))
lens("decompose_resid", cache.decompose_resid(layer=-1, mode="all", apply_ln=True, pos_slice=-1))
heads = cache.stack_head_results(layer=-1, pos_slice=-1, apply_ln=True)
grid("lens.head_results", ["component", "prompt", "d_model"], heads)
per_head = (heads * directions).sum(-1).reshape(model.cfg.n_layers, model.cfg.n_heads, len(CLEAN))
grid("lens.head_dla_logit_diff_per_prompt", ["layer", "head", "prompt"], per_head)
grid("lens.head_dla_logit_diff", ["layer", "head"], per_head.mean(-1))
"#;

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

fn attribution(targets: &[AttributionTarget], compare: bool) -> String {
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
        "{METRIC_MEAN}\nHOOKS = {}\n# (estimate, hook, axes summed away, grid axes, the activation patching it estimates)\nTARGETS = {}\n{ATTRIBUTION}",
        list(hooks.iter().map(|h| string(h))),
        long_list(rows),
    );
    if compare {
        out.push_str(ATTRIBUTION_COMPARE);
    }
    out
}

const ATTRIBUTION: &str = r#"
# Attribution patching (Nanda): the metric's gradient on the corrupted run times (clean -
# corrupted) activation, from one forward and backward pass per side, with hooks.
NAMES = [f"blocks.{l}.{hook}" for l in range(model.cfg.n_layers) for hook in HOOKS]


def forward_backward(tokens):
    activations, gradients = {}, {}

    def keep(x, hook):
        activations[hook.name] = x.detach()

    def keep_gradient(g, hook):
        gradients[hook.name] = g.detach()

    model.reset_hooks()
    for name in NAMES:
        model.add_hook(name, keep, "fwd")
        model.add_hook(name, keep_gradient, "bwd")
    with torch.enable_grad():
        value = metric(model(tokens))
        value.backward()
    model.reset_hooks()
    model.zero_grad(set_to_none=True)
    return value.item(), activations, gradients


clean_value, clean_acts, _ = forward_backward(clean_tokens)
corrupted_value, corrupted_acts, corrupted_grads = forward_backward(corrupted_tokens)
results["metrics"].update(clean=clean_value, corrupted=corrupted_value)


def attribution(name, dims):
    return (corrupted_grads[name] * (clean_acts[name] - corrupted_acts[name])).sum(dim=dims)


estimates = {}
for estimate, hook, dims, axes, _ in TARGETS:
    estimates[estimate] = torch.stack([attribution(f"blocks.{l}.{hook}", dims) for l in range(model.cfg.n_layers)])
    grid(f"attrib.{estimate}", axes, estimates[estimate])
"#;

const ATTRIBUTION_COMPARE: &str = r#"
# The activation patching each estimates, and Pearson's r between estimate and effect (the
# change from the corrupted run).
_, clean_cache = model.run_with_cache(clean_tokens)
for estimate, _, _, axes, name in TARGETS:
    patched = getattr(patching, f"get_act_patch_{name}")(model, corrupted_tokens, clean_cache, metric)
    grid(f"patch.{name}", axes, patched)
    grid(f"patch.{name}.normalised", axes, (patched - corrupted_value) / (clean_value - corrupted_value))
    pair = torch.stack([estimates[estimate].flatten(), (patched - corrupted_value).flatten()]).double()
    results["metrics"][f"pearson.{estimate}"] = torch.corrcoef(pair)[0, 1].item()
"#;

pub(super) fn generation_config(config: &GenerationConfig, seed: u64) -> String {
    let optional = |value: Option<String>| value.unwrap_or_else(|| "None".into());
    format!(
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
"#,
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
    )
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
    sequence, generated = list(prompt_ids), []
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
        token = pick(logits, rng)
        sequence.append(token)
        generated.append(token)
        if STOP_AT_EOS and token == model.tokenizer.eos_token_id:
            break
    return {"new_ids": generated}
"#;

const FORWARD: &str = r#"

def forward(tokens, fwd_hooks):
    return model.run_with_hooks(tokens, fwd_hooks=fwd_hooks)
"#;

const STEERING: &str = r#"
# Activation addition (Turner et al.): the difference of the hook's activations on the two
# prompts at their last position, times COEFF, added at every position while generating.
positive, negative = to_ids(POSITIVE_PROMPT, bos), to_ids(NEGATIVE_PROMPT, bos)
_, positive_cache = model.run_with_cache(torch.tensor([positive]), names_filter=HOOK)
_, negative_cache = model.run_with_cache(torch.tensor([negative]), names_filter=HOOK)
vector = positive_cache[HOOK][0, -1] - negative_cache[HOOK][0, -1]
grid("steer.vector", ["d_model"], vector)


def steer(activation, hook):
    return activation + COEFF * vector


prompt_ids = to_ids(STEERED_PROMPT, bos)
for name, hooks in [("unsteered", []), ("steered", [(HOOK, steer)])]:
    results["generations"][name] = {"prompt": prompt_ids, "generation": generate(prompt_ids, hooks)}
"#;

const STEERING_FRONT: &str = r#"
# Activation addition as Turner et al. add it: both prompts right-padded with " " tokens to one
# length, their activations' difference position by position, times COEFF, added at the
# prompt's first positions (a full forward pass each step, so always at the prompt's tokens).
positive, negative = to_ids(POSITIVE_PROMPT, bos), to_ids(NEGATIVE_PROMPT, bos)
SPACE = model.to_single_token(" ")
length = max(len(positive), len(negative))
positive, negative = [ids + [SPACE] * (length - len(ids)) for ids in (positive, negative)]
_, positive_cache = model.run_with_cache(torch.tensor([positive]), names_filter=HOOK)
_, negative_cache = model.run_with_cache(torch.tensor([negative]), names_filter=HOOK)
vector = positive_cache[HOOK][0] - negative_cache[HOOK][0]
grid("steer.vector", ["pos", "d_model"], vector)
prompt_ids = to_ids(STEERED_PROMPT, bos)
if len(prompt_ids) < length:
    sys.exit(f"the steering prompts are {length} tokens after padding, the prompt only {len(prompt_ids)}")


def steer(activation, hook):
    activation[:, :length] += COEFF * vector
    return activation


for name, hooks in [("unsteered", []), ("steered", [(HOOK, steer)])]:
    results["generations"][name] = {"prompt": prompt_ids, "generation": generate(prompt_ids, hooks)}
"#;

const LOSS: &str = r#"
# Per-token loss: -log p of each next token of each text (TransformerLens's loss_per_token).
rows = [model(torch.tensor([to_ids(text, bos)]), return_type="loss", loss_per_token=True)[0] for text in TEXTS]
per_token = torch.full((len(rows), max(len(row) for row in rows)), float("nan"))
for i, row in enumerate(rows):
    per_token[i, :len(row)] = row
grid("loss.per_token", ["text", "pos"], per_token)
results["metrics"]["loss"] = torch.cat(rows).mean().item()
"#;

const REPETITION: &str = r#"
# Repetition self-reinforcement (DITTO): the sentence's tokens REPEATS times; each token's
# probability given everything before it, TP_n (the mean over copy n) and IP_n (the share of
# copy n's tokens more probable than in the first copy).
sentence = to_ids(SENTENCE, False)
ids = [model.tokenizer.bos_token_id] * bos + sentence * REPEATS
loss = model(torch.tensor([ids]), return_type="loss", loss_per_token=True)[0]  # of ids[1:]
probs = torch.cat([torch.full((1 - bos,), float("nan")), (-loss).exp()]).reshape(REPEATS, len(sentence))
grid("repeat.token_prob", ["copy", "token"], probs)
grid("repeat.tp", ["copy"], probs.nanmean(-1))
known = probs.isfinite() & probs[0].isfinite()
grid("repeat.ip", ["copy"], ((probs > probs[0]) & known).sum(-1) / known.sum(-1))
"#;

const NEURONS: &str = r#"
# Direct logit attribution of every MLP neuron at the last position: its activation times its
# row of W_out, through apply_ln_to_stack (centred, divided by the final LayerNorm's cached
# scale), onto each prompt's logit-difference direction; the TOP neurons by
# mean |activation| x |W_out row|.
clean_logits, cache = model.run_with_cache(clean_tokens)
results["metrics"]["clean"] = metric_per_prompt(clean_logits).mean().item()
directions = model.tokens_to_residual_directions(answers)
directions = directions[:, 0] - directions[:, 1]
dla, activation, norms = [], [], []
for layer in range(model.cfg.n_layers):
    post = cache[f"blocks.{layer}.mlp.hook_post"][:, -1]  # [prompt, d_mlp]
    stack = post.T[:, :, None] * model.W_out[layer][:, None, :]  # [d_mlp, prompt, d_model]
    scaled = cache.apply_ln_to_stack(stack, layer=-1, pos_slice=-1)
    dla.append((scaled * directions).sum(-1).mean(-1))
    activation.append(post.abs().mean(0))
    norms.append(model.W_out[layer].norm(dim=-1))
dla, activation, norms = torch.stack(dla), torch.stack(activation), torch.stack(norms)
grid("neurons.dla", ["layer", "neuron"], dla)
score = (activation * norms).flatten()
top = sorted(range(len(score)), key=lambda i: (-score[i].item(), i))[:TOP]
rows = [[score[i], dla.flatten()[i], activation.flatten()[i], norms.flatten()[i]] for i in top]
grid("neurons.top", ["rank", "quantity"], torch.tensor(rows))
"#;

const PATH: &str = r#"
# Path patching (Wang et al. 2022), exactly: for each sender head, the base run with every
# head's output (hook_z) frozen to the base run's value except the sender's, which takes the
# source run's; MLPs recomputed. To the final residual stream: that run's metric. To receiver
# heads: that run's receiver inputs (hook_q/k/v) patched into a plain base run; its metric.
base_tokens, source_tokens = (clean_tokens, corrupted_tokens) if DIRECTION == "noising" else (corrupted_tokens, clean_tokens)
clean_value = metric_per_prompt(model(clean_tokens)).mean().item()
corrupted_value = metric_per_prompt(model(corrupted_tokens)).mean().item()
base_logits, base_cache = model.run_with_cache(base_tokens, names_filter=lambda name: name.endswith("hook_z"))
_, source_cache = model.run_with_cache(source_tokens, names_filter=lambda name: name.endswith("hook_z"))
results["metrics"].update(clean=clean_value, corrupted=corrupted_value, base=metric_per_prompt(base_logits).mean().item())
for layer, head in RECEIVERS:
    if layer >= model.cfg.n_layers or head >= model.cfg.n_heads:
        sys.exit(f"receiver head L{layer}H{head} does not exist ({model.cfg.n_layers} layers x {model.cfg.n_heads} heads)")
receiver_hooks = sorted({f"blocks.{layer}.attn.hook_{INPUT}" for layer, _ in RECEIVERS})


def frozen_except(sender_layer, sender_head):
    def freeze(z, hook):
        z[:] = base_cache[hook.name]
        if hook.layer() == sender_layer:
            z[:, :, sender_head] = source_cache[hook.name][:, :, sender_head]
        return z
    return [(lambda name: name.endswith("attn.hook_z"), freeze)]


per_prompt = torch.zeros(model.cfg.n_layers, model.cfg.n_heads, clean_tokens.shape[0])
for layer, head in itertools.product(range(model.cfg.n_layers), range(model.cfg.n_heads)):
    if not RECEIVERS:
        logits = model.run_with_hooks(base_tokens, fwd_hooks=frozen_except(layer, head))
    else:
        captured = {}

        def capture(x, hook):
            captured[hook.name] = x.clone()

        model.run_with_hooks(base_tokens, fwd_hooks=frozen_except(layer, head) + [(name, capture) for name in receiver_hooks])

        def patch_receivers(x, hook):
            for r_layer, r_head in RECEIVERS:
                if hook.layer() == r_layer:
                    x[:, :, r_head] = captured[hook.name][:, :, r_head]
            return x

        logits = model.run_with_hooks(base_tokens, fwd_hooks=[(name, patch_receivers) for name in receiver_hooks])
    per_prompt[layer, head] = metric_per_prompt(logits)
raw = per_prompt.mean(-1)
grid(f"path.{GRID}", ["layer", "head"], raw)
grid(f"path.{GRID}.normalised", ["layer", "head"], (raw - corrupted_value) / (clean_value - corrupted_value))
grid(f"path.{GRID}.per_prompt", ["layer", "head", "prompt"], per_prompt)
"#;

const EDGES: &str = r#"
# Edge attribution patching (Syed et al. 2023): for every edge of the head/MLP graph,
# (clean - corrupted output of the upstream node) . (gradient of the metric on the corrupted run
# at the downstream node's own input), summed over prompts and positions. TransformerLens gives
# each head its own q/k/v input (use_split_qkv_input), each head's output (use_attn_result) and
# the MLP's input (use_hook_mlp_in).
model.set_use_split_qkv_input(True)
model.set_use_attn_result(True)
model.set_use_hook_mlp_in(True)
n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
OUTPUTS = ["hook_embed", "hook_pos_embed"] + [f"blocks.{l}.{h}" for l in range(n_layers) for h in ("attn.hook_result", "hook_mlp_out")]
INPUTS = [f"blocks.{l}.{h}" for l in range(n_layers) for h in ("hook_q_input", "hook_k_input", "hook_v_input", "hook_mlp_in")] + [f"blocks.{n_layers - 1}.hook_resid_post"]
clean_logits, clean_cache = model.run_with_cache(clean_tokens, names_filter=lambda name: name in OUTPUTS)
corrupted_acts, gradients = {}, {}


def keep(x, hook):
    corrupted_acts[hook.name] = x.detach()


def keep_gradient(g, hook):
    gradients[hook.name] = g.detach()


model.reset_hooks()
for name in OUTPUTS:
    model.add_hook(name, keep, "fwd")
for name in INPUTS:
    model.add_hook(name, keep_gradient, "bwd")
with torch.enable_grad():
    per_prompt = metric_per_prompt(model(corrupted_tokens))
    per_prompt.mean().backward()
model.reset_hooks()
model.zero_grad(set_to_none=True)
results["metrics"].update(clean=metric_per_prompt(clean_logits).mean().item(), corrupted=per_prompt.mean().item())


def delta(name):
    return clean_cache[name] - corrupted_acts[name]


# Upstream nodes as Patchbay orders them: the embeddings, then per layer its heads and its MLP.
up = [("input", None, delta("hook_embed") + delta("hook_pos_embed"))]
for l in range(n_layers):
    result = delta(f"blocks.{l}.attn.hook_result")  # [batch, pos, head, d_model]
    up += [(("head", l), h, result[:, :, h]) for h in range(n_heads)]
    up.append((("mlp", l), None, delta(f"blocks.{l}.hook_mlp_out")))
# Downstream: per layer the heads' q, then k, then v inputs and the MLP's; then the logits.
down = []
for l in range(n_layers):
    for kind in ("q", "k", "v"):
        g = gradients[f"blocks.{l}.hook_{kind}_input"]
        down += [(("head", l), g[:, :, h]) for h in range(n_heads)]
    down.append((("mlp", l), gradients[f"blocks.{l}.hook_mlp_in"]))
down.append((("logits", n_layers), gradients[f"blocks.{n_layers - 1}.hook_resid_post"]))


def is_edge(source, target):
    """The output is written before the input is read (a block's MLP reads its own heads)."""
    kind, layer = source
    if kind == "input" or target[0] == "logits":
        return True
    if target[0] == "head":
        return layer < target[1]
    return layer <= target[1] if kind == "head" else layer < target[1]


scores = torch.full((len(up), len(down)), float("nan"))
for i, (source, _, d) in enumerate(up):
    source = ("input", -1) if source == "input" else source
    for j, (target, g) in enumerate(down):
        if is_edge(source, target):
            scores[i, j] = (d * g).sum()
grid("eap.scores", ["upstream", "downstream"], scores)
"#;

const INTERVENE: &str = r#"
# The interventions, active at every step: each acts on the entries its batch rows, positions,
# heads and last-axis indices select (all where unset), as Patchbay's do.
HEAD_AXIS = {"hook_q": 2, "hook_k": 2, "hook_v": 2, "hook_z": 2, "hook_attn_scores": 1, "hook_pattern": 1}


def intervention_hook(intervention):
    action = intervention["action"]
    kind = action if isinstance(action, str) else next(iter(action))

    def values(x):
        v = action[kind]["values"]
        return torch.tensor(v["data"], dtype=x.dtype).reshape(v["shape"])

    def hook(x, hook):
        short = hook.name.split(".")[-1]
        pos_axis = 2 if short in ("hook_attn_scores", "hook_pattern") else 1
        if kind == "zero":
            new = torch.zeros_like(x)
        elif kind == "scale":
            new = x * action[kind]["factor"]
        elif kind == "add":
            new = x + values(x)
        elif kind == "replace":
            new = values(x).expand_as(x)
        elif kind == "mean":
            new = x.mean(0, keepdim=True).mean(pos_axis, keepdim=True).expand_as(x)
        elif kind == "add_front":
            front = values(x)[: x.shape[1]]
            new = x.clone()
            new[:, : front.shape[0]] += front
        mask = torch.ones(x.shape, dtype=torch.bool)
        for axis, selected in [(0, intervention.get("batch")), (pos_axis, intervention.get("positions")),
                               (HEAD_AXIS.get(short), intervention.get("heads")), (x.dim() - 1, intervention.get("neurons"))]:
            if selected is not None and axis is not None:
                along = torch.zeros(x.shape[axis], dtype=torch.bool)
                along[selected] = True
                shape = [1] * x.dim()
                shape[axis] = -1
                mask = mask & along.reshape(shape)
        return torch.where(mask, new, x)

    return (intervention["hook"], hook)


hooks = [intervention_hook(i) for i in INTERVENTIONS]
"#;

const CIRCUIT: &str = r#"
# Keep only the heads in KEEP; every other head's output (hook_z) is replaced by its mean over
# the clean batch and positions.
for layer, head in KEEP:
    if layer >= model.cfg.n_layers or head >= model.cfg.n_heads:
        sys.exit(f"head L{layer}H{head} does not exist ({model.cfg.n_layers} layers x {model.cfg.n_heads} heads)")
_, clean_cache = model.run_with_cache(clean_tokens)


def ablate_others(z, hook):
    for head in range(model.cfg.n_heads):
        if (hook.layer(), head) not in KEEP:
            z[:, :, head] = clean_cache[hook.name][:, :, head].mean((0, 1))
    return z


logits = model.run_with_hooks(clean_tokens, fwd_hooks=[(lambda name: name.endswith("attn.hook_z"), ablate_others)])
per_prompt = metric_per_prompt(logits)
results["metrics"]["circuit"] = per_prompt.mean().item()
grid("circuit.per_prompt", ["prompt"], per_prompt)
"#;
