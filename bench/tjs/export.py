#!/usr/bin/env python3
"""Writes a GPT-2-small-shaped model with random weights (seed 0, Hugging Face's initializer) as
the ONNX model transformers.js loads: OUT/config.json, tokenizer files, OUT/onnx/model.onnx
(optimum's text-generation-with-past export: one graph with the KV cache). Nothing is downloaded:
the tokenizer is the real GPT-2 one from ../shared/refs.

Usage: python export.py TOKENIZER_DIR OUT [WIDTH]
WIDTH (default 768) narrows d_model, keeping the 12 layers, 12 heads and the vocabulary: 48 is
Patchbay's `narrow` benchmark model, the same launches in a sixteenth of the work."""
import os
import shutil
import sys
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import torch
from transformers import GPT2Config, GPT2LMHeadModel
from optimum.exporters.onnx import main_export

tokenizer_dir, out = sys.argv[1], sys.argv[2]
width = int(sys.argv[3]) if len(sys.argv) > 3 else 768
torch.manual_seed(0)
config = GPT2Config(n_layer=12, n_head=12, n_embd=width, n_positions=1024, vocab_size=50257)
model = GPT2LMHeadModel(config).eval()
with tempfile.TemporaryDirectory() as work:
    model.save_pretrained(work)
    for name in ["tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json"]:
        if os.path.exists(os.path.join(tokenizer_dir, name)):
            shutil.copy(os.path.join(tokenizer_dir, name), work)
    main_export(work, output=out, task="text-generation-with-past", device="cpu", do_validation=False)
os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
for name in os.listdir(out):
    if name.endswith(".onnx") or name.endswith(".onnx_data"):
        shutil.move(os.path.join(out, name), os.path.join(out, "onnx", name))
print("exported", sorted(os.listdir(os.path.join(out, "onnx"))))
