#!/usr/bin/env python3
# Copied unchanged from the project's shared/bench/tl_baseline.py so that ci/bench runs from a clone alone.
"""
bench.py -- CPU performance baseline (Python side) for the Rust re-implementation.

GPT-2-small-shaped model (n_layer 12, n_head 12, n_embd 768, vocab 50257, n_ctx 1024) with RANDOM
weights (no download), torch with 2 threads, gradients disabled (torch.set_grad_enabled(False)).

Cases (each runs in its own subprocess so that peak RSS is per case):
  tl_forward      HookedTransformer forward, 1x20 tokens
  tl_cache        HookedTransformer run_with_cache, 1x20 tokens
  tl_patch_sweep  transformer_lens.patching.get_act_patch_resid_pre, 1x20 clean/corrupt (12*20 = 240 fwd)
  tl_generate     HookedTransformer.generate, 20-token prompt, 32 new tokens, greedy, use_past_kv_cache=True
  hf_forward      transformers GPT2LMHeadModel forward, 1x20 tokens (default attn impl = sdpa)
  hf_generate     GPT2LMHeadModel.generate, 20-token prompt, 32 new tokens, greedy, KV cache
Timing: after warm-up (2 runs; 1 for the sweep), median of 5 (time.perf_counter).

Usage: venv/bin/python bench.py            -> prints a markdown table, writes bench_results.json
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import time

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TQDM_DISABLE"] = "1"
os.environ["WANDB_MODE"] = "disabled"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
# libgomp's default ACTIVE wait policy spin-waits at every parallel-region barrier; on an oversubscribed
# machine (other processes competing for the 2 cores) that made a 2-thread forward ~7x slower (3 s vs
# 0.45 s). PASSIVE lets waiting threads sleep. Override with OMP_WAIT_POLICY=ACTIVE to measure the default.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

CASES = ["tl_forward", "tl_cache", "tl_patch_sweep", "tl_generate", "hf_forward", "hf_generate"]
N_THREADS = 2


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB -> MiB


CPU_TIMES = []


def timeit(fn, warmup=2, reps=5):
    """Median wall time of `reps` runs after `warmup` runs; also records process CPU time (all threads)
    per run in CPU_TIMES, which is less sensitive to other load on the machine."""
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(reps):
        c0 = time.process_time()
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
        CPU_TIMES.append(time.process_time() - c0)
    return statistics.median(ts), ts


def run_case(case):
    import torch
    torch.set_num_threads(N_THREADS)
    torch.set_grad_enabled(False)
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    clean = torch.randint(0, 50257, (1, 20), generator=g)
    corrupt = clean.clone()
    corrupt[0, 5] = (corrupt[0, 5] + 1) % 50257
    ans = (int(clean[0, 3]), int(clean[0, 7]))
    res = {"case": case, "threads": torch.get_num_threads(), "loadavg_start": os.getloadavg()}
    if case.startswith("tl_"):
        import transformer_lens.patching as P
        from transformer_lens import HookedTransformer, HookedTransformerConfig
        cfg = HookedTransformerConfig(n_layers=12, d_model=768, n_heads=12, d_head=64, d_mlp=3072,
                                      d_vocab=50257, d_vocab_out=50257, n_ctx=1024, act_fn="gelu_new",
                                      normalization_type="LN", positional_embedding_type="standard",
                                      original_architecture="GPT2LMHeadModel", init_weights=True, seed=0,
                                      device="cpu", dtype=torch.float32)
        model = HookedTransformer(cfg).eval()
        res["rss_after_build_mb"] = rss_mb()
        if case == "tl_forward":
            med, ts = timeit(lambda: model(clean))
        elif case == "tl_cache":
            med, ts = timeit(lambda: model.run_with_cache(clean))
        elif case == "tl_patch_sweep":
            _, clean_cache = model.run_with_cache(clean)

            def metric(logits):
                return logits[0, -1, ans[0]] - logits[0, -1, ans[1]]
            med, ts = timeit(lambda: P.get_act_patch_resid_pre(model, corrupt, clean_cache, metric), warmup=1)
            res["forward_passes_per_sweep"] = 12 * 20
        elif case == "tl_generate":
            def gen():
                out = model.generate(clean, max_new_tokens=32, do_sample=False, use_past_kv_cache=True,
                                     stop_at_eos=False, verbose=False, return_type="tokens")
                assert out.shape[1] == 52
            med, ts = timeit(gen)
    else:
        from transformers import GenerationConfig, GPT2Config, GPT2LMHeadModel
        from transformers import logging as hf_logging
        hf_logging.set_verbosity_error()
        cfg = GPT2Config(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12,
                         activation_function="gelu_new")
        model = GPT2LMHeadModel(cfg).eval()
        res["attn_implementation"] = model.config._attn_implementation
        res["rss_after_build_mb"] = rss_mb()
        if case == "hf_forward":
            med, ts = timeit(lambda: model(clean))
        elif case == "hf_generate":
            gc = GenerationConfig(do_sample=False, max_new_tokens=32, eos_token_id=None, bos_token_id=None,
                                  pad_token_id=50256, use_cache=True)

            def gen():
                out = model.generate(input_ids=clean, attention_mask=torch.ones_like(clean), generation_config=gc)
                assert out.shape[1] == 52
            med, ts = timeit(gen)
    res["median_s"] = med
    res["runs_s"] = ts
    res["cpu_median_s"] = statistics.median(CPU_TIMES)
    res["loadavg_end"] = os.getloadavg()
    res["peak_rss_mb"] = rss_mb()
    return res


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--case":
        print(json.dumps(run_case(sys.argv[2])))
        return
    results = []
    for case in CASES:
        p = subprocess.run([sys.executable, __file__, "--case", case], capture_output=True, text=True)
        if p.returncode != 0:
            print(p.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"case {case} failed")
        results.append(json.loads(p.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), flush=True)
    import platform

    import torch
    import transformer_lens  # noqa: F401
    from importlib.metadata import version
    meta = {"python": platform.python_version(), "torch": torch.__version__,
            "transformers": version("transformers"), "transformer-lens": version("transformer-lens"),
            "cpu_count": os.cpu_count(), "threads": N_THREADS, "cpu": platform.processor() or platform.machine(),
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY")}
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_results.json"), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    print("| case | median wall (s) | min..max of 5 (s) | median CPU time (s) | RSS after build (MiB) | "
          "peak RSS (MiB) | 1-min load start/end |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['case']} | {r['median_s']:.4f} | {min(r['runs_s']):.4f}..{max(r['runs_s']):.4f} | "
              f"{r['cpu_median_s']:.4f} | {r['rss_after_build_mb']:.0f} | {r['peak_rss_mb']:.0f} | "
              f"{r['loadavg_start'][0]:.1f}/{r['loadavg_end'][0]:.1f} |")


if __name__ == "__main__":
    main()
