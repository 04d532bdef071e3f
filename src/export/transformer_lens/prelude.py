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


