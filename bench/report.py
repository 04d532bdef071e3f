#!/usr/bin/env python3
"""Writes BENCHMARKS.md from one run of `patchbay bench` and of tl_baseline.py (same machine,
same run). Usage: report.py PATCHBAY_JSON TL_JSON [CARGO_PROFILE] > BENCHMARKS.md"""
import json
import platform
import sys
from datetime import datetime, timezone

ours = json.load(open(sys.argv[1]))
tl = json.load(open(sys.argv[2]))
base = {r["case"]: r for r in tl["results"]}

# (our case, TransformerLens case, HF case, what)
ROWS = [
    ("forward", "tl_forward", "hf_forward", "forward, 1×20 tokens"),
    ("cache", "tl_cache", None, "run_with_cache (every hook), 1×20 tokens"),
    ("patch_sweep", "tl_patch_sweep", None, "resid_pre patching sweep, 20-token pair (12×20 cells)"),
    ("generate_kv", "tl_generate", "hf_generate", "32 greedy tokens after 20, KV cache"),
    ("generate_no_kv", "tl_generate", None, "32 greedy tokens after 20, no KV cache (TL column: with its KV cache)"),
]

print("# Benchmarks\n")
print(f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `ci/bench` on {tl['meta']['cpu']} "
      f"({tl['meta']['cpu_count']} cores), Patchbay on burn's {ours['device']} backend, "
      f"TransformerLens {tl['meta']['transformer-lens']} / torch {tl['meta']['torch']} / transformers "
      f"{tl['meta']['transformers']} on {tl['meta']['threads']} threads, in the same run. "
      f"GPT-2-small shape (12 layers, d_model 768, vocab 50257), random weights. Medians of "
      f"{ours['reps']} runs after warm-up. Patchbay was built with cargo's `{sys.argv[3] if len(sys.argv) > 3 else 'dev'}` profile. Ratio = TransformerLens time / Patchbay time (> 1: Patchbay is faster).\n")
print("| workload | Patchbay (ms) | TransformerLens (ms) | ratio | Hugging Face (ms) |")
print("|---|---|---|---|---|")
for case, tl_case, hf_case, what in ROWS:
    p = ours["cases"][case]["median_s"] * 1e3
    t = base[tl_case]["median_s"] * 1e3
    h = f"{base[hf_case]['median_s'] * 1e3:.1f}" if hf_case else "–"
    print(f"| {what} | {p:.1f} | {t:.1f} | {t / p:.2f}× | {h} |")
print(f"\nPeak RSS: Patchbay {ours['peak_rss_mb']:.0f} MiB (all cases, one process); TransformerLens "
      f"{max(r['peak_rss_mb'] for r in tl['results'] if r['case'].startswith('tl_')):.0f} MiB (largest single case).\n")
print("Target (issue: experiment engine): the patching sweep at least 2× faster than TransformerLens "
      "on the same CPU. These machines are shared and noisy: compare ratios from one run, not "
      "absolute times across runs. Rerun with `ci/bench`.")
print("\nWhere the time goes (forward, dev profile, measured while writing this): the 12 blocks take "
      "about two thirds and the 768×50257 unembedding one third; burn's CPU matmuls run at ~15 GFLOP/s "
      "here against ~60 for PyTorch's, which is why a single forward is slower than Hugging Face. The "
      "sweep wins by doing less work: all cells of a layer in one batch, starting from the cached "
      "corrupted residual at that layer, and unembedding only the last position.")
