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


