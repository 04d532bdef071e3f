import itertools
import json
import math
import sys
from functools import partial

{REQUIRE}
import torch
import transformer_lens.patching as patching
from transformer_lens.model_bridge import TransformerBridge
from transformers import AutoTokenizer, GPT2LMHeadModel

torch.set_grad_enabled(False)


def load_model(source):
    """GPT-2 through TransformerLens 4's bridge over transformers' own model (from the hub by id,
    or from a local folder), its weights as they are (no LayerNorm folding or centring), as
    Patchbay runs it, with TransformerLens's hook names (compatibility mode)."""
    hf = GPT2LMHeadModel.from_pretrained(source, attn_implementation="eager")
    bridge = TransformerBridge.boot_transformers(
        source, hf_model=hf, tokenizer=AutoTokenizer.from_pretrained(source), device="cpu")
    bridge.enable_compatibility_mode(no_processing=True, disable_warnings=True)
    return bridge.eval()


if len(sys.argv) < 3:
    sys.exit(f"usage: python {sys.argv[0]} MODEL OUT.json [--model-for ID=DIR ...]   (MODEL: a hub id or a model folder)")
MODEL_SOURCE = sys.argv[1]
# --model-for ID=DIR: read another model the spec names (a GeDi model) from DIR.
MODEL_FOR = dict(value.partition("=")[::2] for option, value in zip(sys.argv[3:], sys.argv[4:])
                 if option == "--model-for")
model = load_model(MODEL_SOURCE)
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
