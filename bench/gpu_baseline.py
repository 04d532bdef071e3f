#!/usr/bin/env python3
"""TransformerLens and Hugging Face on a GPU (torch with CUDA), the baseline of ci/gpu-bench:
the same workloads, shapes and kinds of input as `patchbay bench --device wgpu`.

GPT-2 small's shape (or `--shape narrow`: its 12 layers, 12 heads and vocabulary at d_model 48),
random weights, gradients off, float32. Cases: TransformerLens's forward, resid_pre patching
sweep of one 20-token pair (transformer_lens.patching) and 32 greedy tokens after 20 with its KV
cache; Hugging Face's GPT2LMHeadModel forward and generate. Each run ends with
torch.cuda.synchronize(), so a time is the device's work finished. Without CUDA (ci/gpu-bench
--quick on a machine without a GPU) it runs on the CPU and says so.

Usage: python gpu_baseline.py [--shape small|narrow] [--reps N] > results.json
"""
import argparse
import json
import os
import statistics
import time

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TQDM_DISABLE"] = "1"
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

WIDTHS = {"small": 768, "narrow": 48}


def timer(device, reps, warmup):
    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def timed(fn):
        first = None
        for _ in range(warmup):
            start = time.perf_counter()
            fn()
            sync()
            first = first if first is not None else time.perf_counter() - start
        runs = []
        for _ in range(reps):
            start = time.perf_counter()
            fn()
            sync()
            runs.append(time.perf_counter() - start)
        return {"median_s": statistics.median(runs), "runs_s": runs, "first_run_s": first if first is not None else runs[0]}

    return timed


def transformer_lens_cases(device, width, vocab, clean, corrupt, answers, timed, reps):
    """TransformerLens's forward, resid_pre patching sweep and generation with its KV cache."""
    import transformer_lens.patching as patching
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    cfg = HookedTransformerConfig(n_layers=12, d_model=width, n_heads=12, d_head=width // 12, d_mlp=4 * width,
                                  d_vocab=vocab, d_vocab_out=vocab, n_ctx=1024, act_fn="gelu_new",
                                  normalization_type="LN", positional_embedding_type="standard",
                                  original_architecture="GPT2LMHeadModel", init_weights=True, seed=0,
                                  device=str(device), dtype=torch.float32)
    tl = HookedTransformer(cfg).eval()
    cases = {"tl_forward": timed(lambda: tl(clean))}
    _, clean_cache = tl.run_with_cache(clean)

    def metric(logits):
        return logits[0, -1, answers[0]] - logits[0, -1, answers[1]]

    cases["tl_patch_sweep"] = timer(device, max(1, reps // 2), warmup=1)(
        lambda: patching.get_act_patch_resid_pre(tl, corrupt, clean_cache, metric))
    cases["tl_generate_kv"] = timed(lambda: tl.generate(clean, max_new_tokens=32, do_sample=False,
                                                        use_past_kv_cache=True, stop_at_eos=False,
                                                        verbose=False, return_type="tokens"))
    return cases


def hugging_face_cases(device, width, vocab, clean, timed):
    """GPT2LMHeadModel's forward and generate (KV cache, greedy, exactly 32 new tokens)."""
    from transformers import GenerationConfig, GPT2Config, GPT2LMHeadModel
    from transformers import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf = GPT2LMHeadModel(GPT2Config(vocab_size=vocab, n_positions=1024, n_embd=width, n_layer=12, n_head=12,
                                    activation_function="gelu_new")).eval().to(device)
    generation = GenerationConfig(do_sample=False, max_new_tokens=32, min_new_tokens=32, eos_token_id=None,
                                  bos_token_id=None, pad_token_id=50256, use_cache=True)
    return {
        "hf_forward": timed(lambda: hf(clean)),
        "hf_generate_kv": timed(lambda: hf.generate(input_ids=clean, attention_mask=torch.ones_like(clean),
                                                    generation_config=generation)),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", choices=WIDTHS, default="small")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    width = WIDTHS[args.shape]
    vocab = 50257
    g = torch.Generator().manual_seed(0)
    clean = torch.randint(0, vocab, (1, 20), generator=g).to(device)
    corrupt = clean.clone()
    corrupt[0, 5] = (corrupt[0, 5] + 1) % vocab
    answers = (int(clean[0, 3]), int(clean[0, 7]))
    timed = timer(device, args.reps, warmup=2)
    cases = {}
    cases.update(transformer_lens_cases(device, width, vocab, clean, corrupt, answers, timed, args.reps))
    cases.update(hugging_face_cases(device, width, vocab, clean, timed))

    from importlib.metadata import version

    print(json.dumps({
        "device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu (no CUDA device)",
        "shape": args.shape,
        "reps": args.reps,
        "versions": {name: version(name) for name in ("torch", "transformers", "transformer-lens")},
        "cases": cases,
    }))


if __name__ == "__main__":
    main()
