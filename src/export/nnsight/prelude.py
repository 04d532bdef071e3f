import itertools
import json
import math
import sys

{REQUIRE}
import torch
from nnsight import TransformersModel

torch.set_grad_enabled(False)

if len(sys.argv) < 3:
    sys.exit(f"usage: python {sys.argv[0]} MODEL OUT.json [--remote] [--model-for ID=DIR ...]   (MODEL: a hub id or a model folder)")
# --remote: every trace runs on NDIF's hosted copy of MODEL (an NDIF API key is needed,
# nnsight.CONFIG.set_default_api_key(...)); otherwise the model is loaded here.
REMOTE = "--remote" in sys.argv[3:]
MODEL_SOURCE = sys.argv[1]
# --model-for ID=DIR: read another model the spec names (a GeDi model) from DIR.
MODEL_FOR = dict(value.partition("=")[::2] for option, value in zip(sys.argv[3:], sys.argv[4:])
                 if option == "--model-for")
model = TransformersModel(MODEL_SOURCE, task="text-generation", device_map="cpu", dispatch=not REMOTE,
                          attn_implementation="eager")
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
