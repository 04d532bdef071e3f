//! nnsight scripts: the Hugging Face GPT-2 under `LanguageModel`, each experiment a loop of
//! `model.trace` contexts that read (`.save()`) and write module inputs and outputs; with
//! `--remote` the same traces run on NDIF. TransformerLens hooks map onto GPT-2's modules as
//! `SITES` in the script says. What has no module of its own is computed from the modules
//! around it: attention patterns from `attn.c_attn`'s q and k (patched by rewriting the head's
//! `z = pattern @ v`), a head's own q/k/v input gradient from `attn.c_attn`'s output gradient
//! back through `ln_1`. Generation with interventions is refused by name (TransformerLens's
//! export has it).

use super::ExportError;
use super::python::{boolean, float, list, long_list, prompt, string};
use super::transformer_lens::{GENERATE, generation_config, metric, steering_phrases};
use crate::experiments::AttributionTarget;
use crate::experiments::steering::SteerAt;
use crate::experiments::{AblationKind, AblationTarget, PatchTarget, ablation};
use crate::hooks::{BlockHook, HookPoint};
use crate::spec::{Experiment, Spec};

pub fn script(spec: &Spec) -> Result<String, ExportError> {
    Ok(super::assemble(
        spec,
        super::Parts {
            library: "nnsight (written against 0.8)",
            prelude: PRELUDE,
            tokens: TOKENS,
            metric: metric(spec.metric),
            body: experiment(spec)?,
        },
    ))
}

fn unsupported(what: &str) -> ExportError {
    ExportError(format!(
        "{what} has no nnsight export yet; export it for TransformerLens or run it with `patchbay run`"
    ))
}

const PRELUDE: &str = r#"import itertools
import json
import math
import sys

import torch
from nnsight import LanguageModel

torch.set_grad_enabled(False)

if len(sys.argv) < 3:
    sys.exit(f"usage: python {sys.argv[0]} MODEL OUT.json [--remote]   (MODEL: a hub id or a model folder)")
# --remote: every trace runs on NDIF's hosted copy of MODEL (an NDIF API key is needed,
# nnsight.CONFIG.set_default_api_key(...)); otherwise the model is loaded here.
REMOTE = "--remote" in sys.argv[3:]
model = LanguageModel(sys.argv[1], device_map="cpu", dispatch=not REMOTE, attn_implementation="eager")
TRACE = {"remote": REMOTE}
n_layers, n_heads = model.config.n_layer, model.config.n_head
d_head = model.config.n_embd // n_heads
results = {"grids": {}, "metrics": {}, "generations": {}}

# Where TransformerLens's hooks are in transformers' GPT-2, for one block. Head outputs
# (hook_z) are the input of attn.c_proj, heads side by side; q, k and v are thirds of
# attn.c_attn's output, heads side by side in each.
SITES = {
    "hook_resid_pre": lambda block: block.input,
    "hook_resid_mid": lambda block: block.ln_2.input,
    "hook_resid_post": lambda block: block.output,
    "hook_attn_out": lambda block: block.attn.output[0],
    "hook_mlp_out": lambda block: block.mlp.output,
    "attn.hook_z": lambda block: block.attn.c_proj.input,
    "attn.hook_q": lambda block: block.attn.c_attn.output,
    "attn.hook_k": lambda block: block.attn.c_attn.output,
    "attn.hook_v": lambda block: block.attn.c_attn.output,
    "mlp.hook_post": lambda block: block.mlp.act.output,
}
# Where a head's slice of a site's last axis starts.
OFFSETS = {"attn.hook_k": model.config.n_embd, "attn.hook_v": 2 * model.config.n_embd}


def split_heads(x):
    """[prompt, pos, head * d_head] as [prompt, head, pos, d_head]."""
    return x.reshape(x.shape[0], x.shape[1], n_heads, d_head).transpose(1, 2)


def pattern(qkv):
    """Attention patterns [prompt, head, query, key] from attn.c_attn's output, as GPT-2 computes them."""
    d_model = model.config.n_embd
    q, k = split_heads(qkv[..., :d_model]), split_heads(qkv[..., d_model:2 * d_model])
    scores = q @ k.transpose(-1, -2) / math.sqrt(d_head)
    causal = torch.ones(scores.shape[-2:], dtype=torch.bool).tril()
    return scores.masked_fill(~causal, torch.finfo(scores.dtype).min).softmax(-1)


def grid(name, axes, values):
    """A result grid as `patchbay run` writes it: its axes, shape and row-major values."""
    values = values.detach().float().cpu()
    results["grids"][name] = {"axes": axes, "shape": list(values.shape), "values": values.flatten().tolist()}


def to_ids(prompt, prepend_bos):
    """Text is tokenized (after <|endoftext|> when prepend_bos); token ids are taken as they are."""
    if isinstance(prompt, str):
        bos = [model.tokenizer.bos_token_id] if prepend_bos else []
        return bos + model.tokenizer(prompt)["input_ids"]
    return list(prompt)


def head_slice(site, head):
    start = OFFSETS.get(site, 0) + head * d_head
    return slice(start, start + d_head)
"#;

const TOKENS: &str = r#"

def to_token(token):
    if isinstance(token, int):
        return token
    ids = model.tokenizer(token)["input_ids"]
    if len(ids) != 1:
        sys.exit(f"the answer {token!r} is {len(ids)} tokens, not one")
    return ids[0]


clean_tokens = to_tokens(CLEAN)
corrupted_tokens = to_tokens(CORRUPTED) if CORRUPTED else None
answers = torch.tensor([[to_token(c), to_token(i)] for c, i in ANSWERS])
n_prompts, n_pos = clean_tokens.shape


def run(tokens, site=None, layer=None, index=None, value=None):
    """The metric of each prompt, with `value` written into `index` of a block's `site`."""
    with model.trace(tokens, **TRACE):
        if site is not None:
            SITES[site](model.transformer.h[layer])[index] = value
        per_prompt = metric_per_prompt(model.lm_head.output).save()
    return per_prompt


def activations(tokens, site):
    """`site` of every block on `tokens`."""
    saved = []
    with model.trace(tokens, **TRACE):
        for layer in range(n_layers):
            saved.append(SITES[site](model.transformer.h[layer]).save())
    return [a.clone() for a in saved]
"#;

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
        Experiment::ActivationPatching(params) => patching(&params.targets),
        Experiment::Ablation(params) => Ok(ablation_sweep(params)),
        Experiment::Generation(params) => {
            if !params.interventions.is_empty() {
                return Err(unsupported("generation with interventions"));
            }
            Ok(format!(
                "{GENERATE}{GENERATE_NN}{config}\nPROMPT = {prompt}\nprompt_ids = to_ids(PROMPT, {bos})\nresults[\"generations\"][\"default\"] = {{\"prompt\": prompt_ids, \"generation\": generate(prompt_ids, None)}}\n",
                config = generation_config(&params.generation, spec.seed),
                prompt = prompt(&params.prompt),
                bos = boolean(params.prepend_bos),
            ))
        }
        Experiment::Steering(params) => {
            let site = match params.hook {
                HookPoint::Block(layer, hook) => match hook {
                    BlockHook::ResidPre => ("hook_resid_pre", layer),
                    BlockHook::ResidMid => ("hook_resid_mid", layer),
                    BlockHook::ResidPost => ("hook_resid_post", layer),
                    BlockHook::AttnOut => ("hook_attn_out", layer),
                    BlockHook::MlpOut => ("hook_mlp_out", layer),
                    _ => return Err(unsupported(&format!("steering at {}", params.hook))),
                },
                _ => return Err(unsupported(&format!("steering at {}", params.hook))),
            };
            Ok(format!(
                "{GENERATE}{GENERATE_NN}{config}\nSITE, LAYER = {site}, {layer}\nCOEFF = {coeff}\nbos = {bos}\n{phrases}{steering}",
                steering = match params.at {
                    SteerAt::EveryPosition => STEERING,
                    SteerAt::Front => STEERING_FRONT,
                },
                config = generation_config(&params.generation, spec.seed),
                site = string(site.0),
                layer = site.1,
                coeff = float(params.coeff),
                bos = boolean(params.prepend_bos),
                phrases = steering_phrases(params),
            ))
        }
        Experiment::LogitLens => Ok(LENS.to_string()),
        Experiment::AttributionPatching(params) => attribution(&params.targets, params.compare),
        Experiment::Circuit(params) => Ok(format!(
            "\nKEEP = {}\n{CIRCUIT}",
            list(params.keep.iter().map(|[l, h]| format!("({l}, {h})")))
        )),
        Experiment::PathPatching(params) => Ok(format!(
            "{}{PATH}",
            super::transformer_lens::path_constants(params)
        )),
        Experiment::EdgeAttributionPatching(_) => Ok(EDGES.to_string()),
        Experiment::Loss(params) => Ok(format!(
            "{}{NEXT_TOKEN}{LOSS}",
            super::transformer_lens::loss_constants(params)
        )),
        Experiment::Repetition(params) => Ok(format!(
            "{}{NEXT_TOKEN}{REPETITION}",
            super::transformer_lens::repetition_constants(params)
        )),
        Experiment::NeuronDla(params) => Ok(format!("\nTOP = {}\n{NEURONS}", params.top)),
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
const PATCH: &str = r#"
# Activation patching: run the corrupted prompts with one clean activation put back (a cell:
# a layer and a position and/or a head), score with the clean answers; one trace a cell.
def patch(name, site, axes):
    if site == "attn.hook_pattern":
        return patch_pattern(name, axes)
    clean = activations(clean_tokens, site)
    shape = [n_layers] + [n_pos if axis == "pos" else n_heads for axis in axes[1:]]
    per_prompt = torch.zeros(shape + [n_prompts])
    for cell in itertools.product(*map(range, shape)):
        at = dict(zip(axes, cell))
        index = (slice(None), at.get("pos", slice(None)))
        if "head" in at:
            index += (head_slice(site, at["head"]),)
        per_prompt[cell] = run(corrupted_tokens, site, at["layer"], index, clean[at["layer"]][index])
    return patched_grids(name, axes, per_prompt)


def patch_pattern(name, axes):
    """A head's pattern has no module in transformers' GPT-2, but z = pattern @ v does: the
    head's slice of attn.c_proj's input is rewritten with the clean pattern and the run's own v."""
    clean = [pattern(qkv) for qkv in activations(clean_tokens, "attn.hook_q")]
    shape = [n_layers] + [n_pos if axis == "pos" else n_heads for axis in axes[1:]]
    per_prompt = torch.zeros(shape + [n_prompts])
    for cell in itertools.product(*map(range, shape)):
        at = dict(zip(axes, cell))
        layer, head, rows = at["layer"], at["head"], head_slice("attn.hook_z", at["head"])
        queries = slice(None) if "pos" not in at else slice(at["pos"], at["pos"] + 1)
        with model.trace(corrupted_tokens, **TRACE):
            block = model.transformer.h[layer]
            v = block.attn.c_attn.output[:, :, head_slice("attn.hook_v", head)]
            block.attn.c_proj.input[:, queries, rows] = torch.matmul(clean[layer][:, head, queries], v)
            value = metric_per_prompt(model.lm_head.output).save()
        per_prompt[cell] = value
    return patched_grids(name, axes, per_prompt)


def patched_grids(name, axes, per_prompt):
    patched = per_prompt.mean(-1)
    grid(f"patch.{name}", axes, patched)
    grid(f"patch.{name}.normalised", axes, (patched - corrupted_value) / (clean_value - corrupted_value))
    grid(f"patch.{name}.per_prompt", axes + ["prompt"], per_prompt)
    return patched

"#;

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
const GENERATE_NN: &str = r#"

def forward(tokens, steer):
    with model.trace(tokens, **TRACE):
        if steer is not None:
            steer()
        logits = model.lm_head.output.save()
    return logits
"#;

const STEERING: &str = r#"
# Activation addition (Turner et al.): the difference of the site's activations on the two
# prompts at their last position, times COEFF, added at every position while generating.
positive, negative = to_ids(POSITIVE_PROMPT, bos), to_ids(NEGATIVE_PROMPT, bos)
with model.trace(torch.tensor([positive]), **TRACE):
    positive_act = SITES[SITE](model.transformer.h[LAYER]).save()
with model.trace(torch.tensor([negative]), **TRACE):
    negative_act = SITES[SITE](model.transformer.h[LAYER]).save()
vector = positive_act[0, -1] - negative_act[0, -1]
grid("steer.vector", ["d_model"], vector)


def steer():
    SITES[SITE](model.transformer.h[LAYER])[:] += COEFF * vector


prompt_ids = to_ids(STEERED_PROMPT, bos)
for name, steering in [("unsteered", None), ("steered", steer)]:
    results["generations"][name] = {"prompt": prompt_ids, "generation": generate(prompt_ids, steering)}
"#;

/// TransformerLens's logit-lens quantities, from the modules' values at the last position:
/// `accumulated_resid` (each block's input and middle, then the final stream),
/// `decompose_resid` (embeddings, then each block's attention and MLP outputs),
/// `stack_head_results` (each head's `z · W_O[h]`), with both LayerNorm conventions.
const LENS: &str = r#"
# The logit lens and direct logit attribution onto each prompt's logit-difference direction,
# at the last position, as TransformerLens's ActivationCache computes them. "cached" divides by
# the final LayerNorm's scale from the run (after centring); "recomputed" applies ln_f to each
# partial stream.
pre, mid, z, attn, mlp = [], [], [], [], []
with model.trace(clean_tokens, **TRACE):
    embed = model.transformer.wte.output[:, -1].save()
    pos_embed = model.transformer.wpe.output[:, -1].save()
    for layer in range(n_layers):
        block = model.transformer.h[layer]
        pre.append(block.input[:, -1].save())
        z.append(block.attn.c_proj.input[:, -1].save())
        attn.append(block.attn.output[0][:, -1].save())
        mid.append(block.ln_2.input[:, -1].save())
        mlp.append(block.mlp.output[:, -1].save())
    final = model.transformer.ln_f.input[:, -1].save()
    per_prompt = metric_per_prompt(model.lm_head.output).save()
results["metrics"]["clean"] = per_prompt.mean().item()
unembed = model.lm_head.weight
directions = unembed[answers[:, 0]] - unembed[answers[:, 1]]
grid("lens.logit_diff_directions", ["prompt", "d_model"], directions)
ln_f = model.transformer.ln_f
centred = final - final.mean(-1, keepdim=True)
scale = (centred.pow(2).mean(-1, keepdim=True) + ln_f.eps).sqrt()


def cached_ln(stack):
    return (stack - stack.mean(-1, keepdim=True)) / scale


def lens(name, stack):
    grid(f"lens.{name}", ["component", "prompt", "d_model"], stack)
    per_prompt = (stack * directions).sum(-1)
    grid(f"lens.{name}_logit_diff_per_prompt", ["component", "prompt"], per_prompt)
    grid(f"lens.{name}_logit_diff", ["component"], per_prompt.mean(-1))


raw = torch.stack([x for layer in range(n_layers) for x in (pre[layer], mid[layer])] + [final])
lens("accumulated_resid_raw", raw)
recomputed = torch.nn.functional.layer_norm(raw, (raw.shape[-1],), ln_f.weight, ln_f.bias, ln_f.eps)
lens("accumulated_resid_ln_recomputed", recomputed)
lens("accumulated_resid_ln_cached", cached_ln(raw))
parts = [embed, pos_embed.expand_as(embed)] + [x for layer in range(n_layers) for x in (attn[layer], mlp[layer])]
lens("decompose_resid", cached_ln(torch.stack(parts)))
heads = []
for layer in range(n_layers):
    w_o = model.transformer.h[layer].attn.c_proj.weight  # Conv1D: [in, out], heads' rows in order
    for head in range(n_heads):
        rows = slice(head * d_head, (head + 1) * d_head)
        heads.append(z[layer][:, rows] @ w_o[rows])
heads = cached_ln(torch.stack(heads))
grid("lens.head_results", ["component", "prompt", "d_model"], heads)
per_head = (heads * directions).sum(-1).reshape(n_layers, n_heads, n_prompts)
grid("lens.head_dla_logit_diff_per_prompt", ["layer", "head", "prompt"], per_head)
grid("lens.head_dla_logit_diff", ["layer", "head"], per_head.mean(-1))
"#;

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

fn attribution(targets: &[AttributionTarget], compare: bool) -> Result<String, ExportError> {
    let rows = targets
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
        "\n# (estimate, site, axes summed away, grid axes, the activation patching it estimates)\nTARGETS = {}\n{ATTRIBUTION}",
        long_list(rows)
    );
    if compare {
        out.push_str(PATCH);
        out.push_str(COMPARE);
    }
    Ok(out)
}

/// Attribution patching from one forward and backward trace per side; gradients are read in
/// the backward pass's order (the reverse of the forward's).
const ATTRIBUTION: &str = r#"
# Attribution patching (Nanda): the metric's gradient on the corrupted run times (clean -
# corrupted) activation, from one forward and backward trace per side. Modules are read in the
# order a block runs them; q, k and v are read together from attn.c_attn's output.
ORDER = ["hook_resid_pre", "attn.hook_q", "attn.hook_z", "hook_attn_out", "hook_mlp_out"]
MODULE = {"attn.hook_k": "attn.hook_q", "attn.hook_v": "attn.hook_q"}
# A pattern's attribution: dL/dpattern = dL/dz_h @ v_h^T, times the patterns' difference.
READS = {"attn.hook_pattern": ["attn.hook_q", "attn.hook_z"]}
needed = sorted({m for _, site, _, _, _ in TARGETS for m in READS.get(site, [MODULE.get(site, site)])}, key=ORDER.index)


def forward_backward(tokens):
    sites, activations, gradients = {}, {}, {}
    with torch.enable_grad(), model.trace(tokens, **TRACE):
        for layer in range(n_layers):
            block = model.transformer.h[layer]
            for site in needed:
                sites[(site, layer)] = SITES[site](block)
        for key, proxy in sites.items():
            activations[key] = proxy.save()
        value = metric_per_prompt(model.lm_head.output).mean()
        saved = value.save()
        with value.backward():
            for key in reversed(list(sites)):
                gradients[key] = sites[key].grad.save()
    return saved.item(), activations, gradients


clean_value, clean_acts, _ = forward_backward(clean_tokens)
corrupted_value, corrupted_acts, corrupted_grads = forward_backward(corrupted_tokens)
results["metrics"].update(clean=clean_value, corrupted=corrupted_value)


def attribution(site, layer):
    """grad x (clean - corrupted) at a site; per head ([prompt, pos, head, d_head]) for q, k, v, z."""
    if site == "attn.hook_pattern":
        qkv, z = ("attn.hook_q", layer), ("attn.hook_z", layer)
        v = split_heads(corrupted_acts[qkv][..., 2 * n_heads * d_head:])
        grad_pattern = split_heads(corrupted_grads[z]) @ v.transpose(-1, -2)
        return grad_pattern * (pattern(clean_acts[qkv]) - pattern(corrupted_acts[qkv]))  # [prompt, head, query, key]
    key = (MODULE.get(site, site), layer)
    full = corrupted_grads[key] * (clean_acts[key] - corrupted_acts[key])
    if not site.startswith("attn."):
        return full
    start = OFFSETS.get(site, 0)
    return full[..., start:start + n_heads * d_head].reshape(n_prompts, n_pos, n_heads, d_head)


estimates = {}
for estimate, site, dims, axes, _ in TARGETS:
    estimates[estimate] = torch.stack([attribution(site, layer).sum(dim=dims) for layer in range(n_layers)])
    grid(f"attrib.{estimate}", axes, estimates[estimate])
"#;

const COMPARE: &str = r#"
# The activation patching each estimates, and Pearson's r between estimate and effect (the
# change from the corrupted run).
for estimate, site, _, axes, name in TARGETS:
    patched = patch(name, site, axes)
    pair = torch.stack([estimates[estimate].flatten(), (patched - corrupted_value).flatten()]).double()
    results["metrics"][f"pearson.{estimate}"] = torch.corrcoef(pair)[0, 1].item()
"#;

const STEERING_FRONT: &str = r#"
# Activation addition as Turner et al. add it: both prompts right-padded with " " tokens to one
# length, their activations' difference position by position, times COEFF, added at the
# prompt's first positions (a full forward pass each step, so always at the prompt's tokens).
positive, negative = to_ids(POSITIVE_PROMPT, bos), to_ids(NEGATIVE_PROMPT, bos)
SPACE = model.tokenizer(" ")["input_ids"][0]
length = max(len(positive), len(negative))
positive, negative = [ids + [SPACE] * (length - len(ids)) for ids in (positive, negative)]
with model.trace(torch.tensor([positive]), **TRACE):
    positive_act = SITES[SITE](model.transformer.h[LAYER]).save()
with model.trace(torch.tensor([negative]), **TRACE):
    negative_act = SITES[SITE](model.transformer.h[LAYER]).save()
vector = positive_act[0] - negative_act[0]
grid("steer.vector", ["pos", "d_model"], vector)
prompt_ids = to_ids(STEERED_PROMPT, bos)
if len(prompt_ids) < length:
    sys.exit(f"the steering prompts are {length} tokens after padding, the prompt only {len(prompt_ids)}")


def steer():
    SITES[SITE](model.transformer.h[LAYER])[:, :length] += COEFF * vector


for name, steering in [("unsteered", None), ("steered", steer)]:
    results["generations"][name] = {"prompt": prompt_ids, "generation": generate(prompt_ids, steering)}
"#;

const NEXT_TOKEN: &str = r#"

def next_token_loss(ids):
    """-log p of each next token of one sequence."""
    with model.trace(torch.tensor([ids]), **TRACE):
        logits = model.lm_head.output.save()
    log_probs = logits[0, :-1].float().log_softmax(-1)
    return -log_probs.gather(-1, torch.tensor(ids[1:])[:, None])[:, 0]
"#;

const LOSS: &str = r#"
# Per-token loss: -log p of each next token of each text.
rows = [next_token_loss(to_ids(text, bos)) for text in TEXTS]
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
loss = next_token_loss(ids)  # of ids[1:]
probs = torch.cat([torch.full((1 - bos,), float("nan")), (-loss).exp()]).reshape(REPEATS, len(sentence))
grid("repeat.token_prob", ["copy", "token"], probs)
grid("repeat.tp", ["copy"], probs.nanmean(-1))
known = probs.isfinite() & probs[0].isfinite()
grid("repeat.ip", ["copy"], ((probs > probs[0]) & known).sum(-1) / known.sum(-1))
"#;

const NEURONS: &str = r#"
# Direct logit attribution of every MLP neuron at the last position: its activation times its
# row of W_out (mlp.c_proj's Conv1D weight, [d_mlp, d_model]), centred and divided by the
# final LayerNorm's scale from the run (TransformerLens's apply_ln_to_stack), onto each prompt's
# logit-difference direction; the TOP neurons by mean |activation| x |W_out row|.
posts = []
with model.trace(clean_tokens, **TRACE):
    for layer in range(n_layers):
        posts.append(model.transformer.h[layer].mlp.act.output[:, -1].save())
    final = model.transformer.ln_f.input[:, -1].save()
    per_prompt = metric_per_prompt(model.lm_head.output).save()
results["metrics"]["clean"] = per_prompt.mean().item()
unembed = model.lm_head.weight
directions = unembed[answers[:, 0]] - unembed[answers[:, 1]]
centred = final - final.mean(-1, keepdim=True)
scale = (centred.pow(2).mean(-1, keepdim=True) + model.transformer.ln_f.eps).sqrt()  # [prompt, 1]
dla, activation, norms = [], [], []
for layer in range(n_layers):
    w_out = model.transformer.h[layer].mlp.c_proj.weight  # [d_mlp, d_model]
    read_out = directions @ (w_out - w_out.mean(-1, keepdim=True)).T  # [prompt, d_mlp]
    dla.append((posts[layer] * read_out / scale).mean(0))
    activation.append(posts[layer].abs().mean(0))
    norms.append(w_out.norm(dim=-1))
dla, activation, norms = torch.stack(dla), torch.stack(activation), torch.stack(norms)
grid("neurons.dla", ["layer", "neuron"], dla)
score = (activation * norms).flatten()
top = sorted(range(len(score)), key=lambda i: (-score[i].item(), i))[:TOP]
rows = [[score[i], dla.flatten()[i], activation.flatten()[i], norms.flatten()[i]] for i in top]
grid("neurons.top", ["rank", "quantity"], torch.tensor(rows))
"#;

const PATH: &str = r#"
# Path patching (Wang et al. 2022), exactly: for each sender head, the base run with every
# head's output (the input of attn.c_proj) frozen to the base run's value except the sender's,
# which takes the source run's; MLPs recomputed. To the final residual stream: that run's
# metric. To receiver heads: that run's receiver inputs (their slice of attn.c_attn's output)
# patched into a plain base run; its metric. Two traces a sender.
base_tokens, source_tokens = (clean_tokens, corrupted_tokens) if DIRECTION == "noising" else (corrupted_tokens, clean_tokens)
clean_value = run(clean_tokens).mean().item()
corrupted_value = run(corrupted_tokens).mean().item()
results["metrics"].update(clean=clean_value, corrupted=corrupted_value, base=run(base_tokens).mean().item())
for layer, head in RECEIVERS:
    if layer >= n_layers or head >= n_heads:
        sys.exit(f"receiver head L{layer}H{head} does not exist ({n_layers} layers x {n_heads} heads)")
SITE = f"attn.hook_{INPUT}"
receiver_layers = sorted({layer for layer, _ in RECEIVERS})
base_z = activations(base_tokens, "attn.hook_z")
source_z = activations(source_tokens, "attn.hook_z")
per_prompt = torch.zeros(n_layers, n_heads, n_prompts)
for layer, head in itertools.product(range(n_layers), range(n_heads)):
    rows = head_slice("attn.hook_z", head)
    sender = base_z[layer].clone()
    sender[:, :, rows] = source_z[layer][:, :, rows]
    captured = {}
    with model.trace(base_tokens, **TRACE):
        for l in range(n_layers):
            block = model.transformer.h[l]
            if l in receiver_layers:
                captured[l] = block.attn.c_attn.output.save()
            block.attn.c_proj.input[:] = sender if l == layer else base_z[l]
        frozen = metric_per_prompt(model.lm_head.output).save()
    if not RECEIVERS:
        per_prompt[layer, head] = frozen
        continue
    with model.trace(base_tokens, **TRACE):
        for l in receiver_layers:
            qkv = model.transformer.h[l].attn.c_attn.output
            for r_layer, r_head in RECEIVERS:
                if r_layer == l:
                    r_rows = head_slice(SITE, r_head)
                    qkv[:, :, r_rows] = captured[l][:, :, r_rows]
        patched = metric_per_prompt(model.lm_head.output).save()
    per_prompt[layer, head] = patched
raw = per_prompt.mean(-1)
grid(f"path.{GRID}", ["layer", "head"], raw)
grid(f"path.{GRID}.normalised", ["layer", "head"], (raw - corrupted_value) / (clean_value - corrupted_value))
grid(f"path.{GRID}.per_prompt", ["layer", "head", "prompt"], per_prompt)
"#;

/// Edge attribution patching: transformers' GPT-2 reads every head's q, k and v from one
/// `ln_1` output, so each head's own input gradient is taken by hand — the gradient at its
/// slice of `attn.c_attn`'s output, back through its columns of the weight and through `ln_1`.
const EDGES: &str = r#"
# Edge attribution patching (Syed et al. 2023): for every edge of the head/MLP graph,
# (clean - corrupted output of the upstream node) . (gradient of the metric on the corrupted run
# at the downstream node's own input), summed over prompts and positions. A head's own q, k or v
# input gradient is its slice of attn.c_attn's output gradient, back through its columns of the
# weight and through ln_1 (an MLP's: its input gradient back through ln_2).
def outputs_and_inputs(tokens, gradients):
    saved, sites = {}, {}
    with torch.enable_grad(), model.trace(tokens, **TRACE):
        saved["embed"] = (model.transformer.wte.output + model.transformer.wpe.output).save()
        for layer in range(n_layers):
            block = model.transformer.h[layer]
            saved[("ln_1", layer)] = block.ln_1.input.save()
            sites[("qkv", layer)] = block.attn.c_attn.output
            saved[("z", layer)] = block.attn.c_proj.input.save()
            saved[("ln_2", layer)] = block.ln_2.input.save()
            sites[("mlp_in", layer)] = block.mlp.input
            saved[("mlp_out", layer)] = block.mlp.output.save()
        sites["final"] = model.transformer.ln_f.input
        per_prompt = metric_per_prompt(model.lm_head.output)
        saved["value"] = per_prompt.mean().save()
        if gradients is not None:
            with per_prompt.mean().backward():
                for key in reversed(list(sites)):
                    gradients[key] = sites[key].grad.save()
    return saved


clean = outputs_and_inputs(clean_tokens, None)
grads = {}
corrupted = outputs_and_inputs(corrupted_tokens, grads)
results["metrics"].update(clean=clean["value"].item(), corrupted=corrupted["value"].item())


def layer_norm_backward(norm, x, g):
    """The gradient at a LayerNorm's input x, given the gradient g at its output."""
    centred = x - x.mean(-1, keepdim=True)
    scale = (centred.pow(2).mean(-1, keepdim=True) + norm.eps).sqrt()
    normalized = centred / scale
    g = g * norm.weight
    return (g - g.mean(-1, keepdim=True) - normalized * (g * normalized).mean(-1, keepdim=True)) / scale


d_model = model.config.n_embd
up, down = [("input", -1, clean["embed"] - corrupted["embed"])], []
for layer in range(n_layers):
    block = model.transformer.h[layer]
    w_o = block.attn.c_proj.weight  # Conv1D: [in, out], heads' rows in order
    for head in range(n_heads):
        rows = slice(head * d_head, (head + 1) * d_head)
        up.append(("head", layer, (clean[("z", layer)][..., rows] - corrupted[("z", layer)][..., rows]) @ w_o[rows]))
    up.append(("mlp", layer, clean[("mlp_out", layer)] - corrupted[("mlp_out", layer)]))
    w_qkv = block.attn.c_attn.weight  # [d_model, 3 * d_model]
    for third in range(3):  # q, then k, then v
        for head in range(n_heads):
            columns = slice(third * d_model + head * d_head, third * d_model + (head + 1) * d_head)
            g = grads[("qkv", layer)][..., columns] @ w_qkv[:, columns].T
            down.append(("head", layer, layer_norm_backward(block.ln_1, corrupted[("ln_1", layer)], g)))
    down.append(("mlp", layer, layer_norm_backward(block.ln_2, corrupted[("ln_2", layer)], grads[("mlp_in", layer)])))
down.append(("logits", n_layers, grads["final"]))


def is_edge(source, target):
    """The output is written before the input is read (a block's MLP reads its own heads)."""
    (kind, layer), (to_kind, to_layer) = source, target
    if kind == "input" or to_kind == "logits":
        return True
    if to_kind == "head":
        return layer < to_layer
    return layer <= to_layer if kind == "head" else layer < to_layer


deltas = torch.stack([d.flatten() for _, _, d in up])
gradients = torch.stack([g.flatten() for _, _, g in down])
scores = deltas @ gradients.T
for i, (kind, layer, _) in enumerate(up):
    for j, (to_kind, to_layer, _) in enumerate(down):
        if not is_edge((kind, layer), (to_kind, to_layer)):
            scores[i, j] = float("nan")
grid("eap.scores", ["upstream", "downstream"], scores)
"#;

const CIRCUIT: &str = r#"
# Keep only the heads in KEEP; every other head's output (the input of attn.c_proj) is replaced
# by its mean over the clean batch and positions, in one trace.
for layer, head in KEEP:
    if layer >= n_layers or head >= n_heads:
        sys.exit(f"head L{layer}H{head} does not exist ({n_layers} layers x {n_heads} heads)")
clean = activations(clean_tokens, "attn.hook_z")
with model.trace(clean_tokens, **TRACE):
    for layer in range(n_layers):
        z = model.transformer.h[layer].attn.c_proj.input
        for head in range(n_heads):
            if (layer, head) not in KEEP:
                rows = head_slice("attn.hook_z", head)
                z[:, :, rows] = clean[layer][:, :, rows].mean((0, 1))
    per_prompt = metric_per_prompt(model.lm_head.output).save()
results["metrics"]["circuit"] = per_prompt.mean().item()
grid("circuit.per_prompt", ["prompt"], per_prompt)
"#;
