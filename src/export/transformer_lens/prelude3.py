import itertools
import json
import math
import sys
from functools import partial
from pathlib import Path

{REQUIRE}
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
