#!/usr/bin/env python3
"""Writes BENCHMARKS.md from one run of `patchbay bench`, of tl_baseline.py and of the browser's
Benchmark panel (same machine, same run).
Usage: report.py PATCHBAY_JSON TL_JSON CARGO_PROFILE [BROWSER_CPU_JSON [BROWSER_WEBGPU_JSON
       [TJS_CPU_JSON [TJS_WEBGPU_JSON [FIRST_CPU_JSON [FIRST_WEBGPU_JSON]]]]]] (an empty file:
       that run failed or was skipped)"""
import json
import re
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
print("\nWhere the time goes: the 12 blocks take about two thirds of a forward pass and the 768×50257 "
      "unembedding one third. With burn's `simd` and `rayon` features (gemm's SIMD kernels on both cores) a "
      "single forward is on par with TransformerLens and about half as fast as Hugging Face's plain "
      "GPT2LMHeadModel. The sweep wins by doing less work: all cells of a layer in one batch, starting "
      "from the cached corrupted residual at that layer, and unembedding only the last position.")

batched, per_sender = (ours["cases"].get(k) for k in ("ioi_path_batched", "ioi_path_per_sender"))
if batched and per_sender:
    b, s = batched["median_s"], per_sender["median_s"]
    print("\n## Path patching: batched and last-position-only vs one pass per sender\n")
    print("Exact path patching of all 144 heads to the final residual stream on eight IOI-shaped "
          "15-token pairs (the same run, the same model, both checked against the oracle). The "
          "baseline is the straightforward way: a pass per sender through every block from its "
          "layer, all positions, attention recomputed under hooks that freeze each later head. "
          "Patchbay's run batches 8 senders a pass (64 rows) and uses that frozen attention mixes "
          "no positions: from the sender's layer on only the last position is computed, through "
          "the MLPs after the base run's attention output.\n")
    print("| run | time (s) | ratio |")
    print("|---|---|---|")
    print(f"| a hooked pass per sender | {s:.2f} | 1.00× |")
    print(f"| batched, last position only | {b:.2f} | {s / b:.2f}× |")

def relp_section(browser_runs):
    """RelP's cost against attribution patching's, natively and in each browser run that has both."""
    runs = [("native CLI (CPU, 2 cores)", ours)] + [
        (f"browser, {'CPU fallback' if b['device'] == 'cpu' else 'WebGPU'}", b) for b in browser_runs]
    rows = []
    for label, run in runs:
        gradient, relp = (run["cases"].get(k) for k in ("ioi_attribution", "ioi_relp"))
        if gradient and relp:
            g, r = gradient["median_s"], relp["median_s"]
            rows.append(f"| {label} | {g * 1e3:.1f} | {r * 1e3:.1f} | {r / g:.2f}× |")
    if not rows:
        return
    print("\n## RelP against attribution patching\n")
    print("The same estimates (resid_pre, attn_out, mlp_out, z) on eight IOI-shaped 15-token pairs, "
          "GPT-2 small's shape: a clean forward pass, a corrupted forward pass and one backward pass "
          "each; RelP's rules (LN, Identity) add elementwise work to the corrupted pass. Ratio = RelP "
          "time / gradient time (target: at most 1.3×, issue 24).\n")
    print("| where | gradient (ms) | RelP (ms) | ratio |")
    print("|---|---|---|---|")
    print("\n".join(rows))


def gedi_section(browser_runs):
    """GeDi's cost per token against plain decoding, natively and in each browser run."""
    runs = [("native CLI (CPU, 2 cores)", ours)] + [
        (f"browser, {'CPU fallback' if b['device'] == 'cpu' else 'WebGPU'}", b) for b in browser_runs]
    rows = []
    for label, run in runs:
        plain, gedi = (run["cases"].get(k) for k in ("generate_kv", "generate_gedi"))
        if plain and gedi:
            p, g = plain["median_s"] / 32, gedi["median_s"] / 32
            rows.append(f"| {label} | {p * 1e3:.1f} | {g * 1e3:.1f} | {g / p:.2f}× |")
    if not rows:
        return
    print("\n## GeDi-guided decoding against plain decoding\n")
    print("32 greedy tokens after a 20-token prompt with the KV cache, GPT-2 small's shape, guided by "
          "a GeDi model of the same shape (ω 30, ρ 0.8, τ 0.8): per token, the GeDi model reads the "
          "new token after both control codes as one batch of two from its own cache, and the "
          "filter sorts the vocabulary by P(desired). Ratio = guided / plain time per token "
          "(issue 25: about two extra forward passes of the discriminator per token, i.e. at most "
          "about 3×).\n")
    print("| where | plain (ms/token) | GeDi (ms/token) | ratio |")
    print("|---|---|---|---|")
    print("\n".join(rows))


# The same workloads in the browser (the app's Benchmark panel, `?bench`), release build.
def optional(i):
    """The JSON file at argument i, or None when it is missing or empty (a run that failed)."""
    if len(sys.argv) <= i or not open(sys.argv[i]).read().strip():
        return None
    return json.load(open(sys.argv[i]))


browser = [b for b in (optional(4), optional(5)) if b]
if browser:
    print("\n## In the browser\n")
    first = browser[0]
    chrome = re.search(r"Chrome/(\S+)", first["browser"])
    print(f"The app's Benchmark panel (`?bench`) in headless Chromium {chrome.group(1) if chrome else first['browser']}, "
          f"release build from `ci/dist`, on the same machine in the same run: GPT-2 small's shape with random "
          f"weights built in the tab. The CPU fallback is one thread of WebAssembly with SIMD128; "
          f"ratio = native CLI time / browser time (1 is native speed; the native CLI uses both cores).")
    kinds = [(b, "CPU" if b["device"] == "cpu" else f"WebGPU ({b.get('adapter') or 'adapter unknown'})") for b in browser]
    header = "| workload | native CLI (ms) | " + " | ".join(f"browser, {k} (ms) | ratio" for _, k in kinds) + " |"
    print("\n" + header)
    print("|---|---|" + "---|---|" * len(kinds))
    names = [name for name in ours["cases"]] + [n for b, _ in kinds for n in b["cases"] if n not in ours["cases"]]
    seen = []
    for name in names:
        if name in seen:
            continue
        seen.append(name)
        native = ours["cases"].get(name, {}).get("median_s")
        cells = []
        for b, _ in kinds:
            case = b["cases"].get(name)
            if case is None:
                cells.append("– | –")
            else:
                ms = case["median_s"] * 1e3
                cells.append(f"{ms:.1f} | {native * 1e3 / ms:.2f}×" if native else f"{ms:.1f} | –")
        print(f"| {name} | {native * 1e3:.1f} | " if native else f"| {name} | – | ", end="")
        print(" | ".join(cells) + " |")
    for b, k in kinds:
        print(f"\n{k}: building the random model took {b['build_model_s']:.1f} s; the tab's WebAssembly memory "
              f"reached {b['wasm_memory_mb']:.0f} MiB.")

relp_section(browser)
gedi_section(browser)

# The anchor: transformers.js in the same browser, same shape, same kind of backend.
tjs = {"cpu": optional(6), "wgpu": optional(7)}
ours_in_browser = {b["device"]: b for b in browser}
if any(tjs.values()):
    print("\n### Against transformers.js in the same browser\n")
    some = next(t for t in tjs.values() if t)
    print(f"transformers.js {some.get('version', '?')} (ONNX Runtime Web, one thread, fp32) running a "
          f"GPT-2-small-shaped ONNX export with random weights (`bench/tjs/export.py`: optimum's "
          f"text-generation-with-past graph), in the same headless Chromium. Ratio = transformers.js "
          f"time / Patchbay time (> 1: Patchbay is faster; target ≥ 1).\n")
    print("| workload | backend | Patchbay (ms) | transformers.js (ms) | ratio |")
    print("|---|---|---|---|---|")
    for device, label in (("cpu", "CPU (wasm)"), ("wgpu", "WebGPU")):
        t, p = tjs.get(device), ours_in_browser.get(device)
        if not t:
            print(f"| – | {label} | – | – | transformers.js did not run |")
            continue
        for name in ("forward", "generate_kv"):
            theirs = t["cases"].get(name, {}).get("median_s")
            mine = p["cases"].get(name, {}).get("median_s") if p else None
            ratio = f"{theirs / mine:.2f}×" if theirs and mine else "–"
            print(f"| {name} | {label} | {mine * 1e3:.1f} | {theirs * 1e3:.1f} | {ratio} |" if mine and theirs
                  else f"| {name} | {label} | {mine * 1e3 if mine else '–'} | {theirs * 1e3 if theirs else '–'} | {ratio} |")



from gpu_work import gpu_work_section  # noqa: E402

gpu_work_section(ours_in_browser.get("wgpu"), tjs.get("wgpu"))

# A returning user's visit: opening the page to the first result, and memory while loading.
visits = [v for v in (optional(8), optional(9)) if v]
if visits:
    print("\n## Time to first result, and memory while loading\n")
    print(f"{visits[0]['model']}, served from loopback; a returning user's visit in headless Chromium "
          f"(the app shell and the weights in the browser's caches from a first visit in the same "
          f"profile), measured from navigation (`node bench/browser.mjs first-cpu|first-webgpu`). The "
          f"weights stream from the cache onto the device tensor by tensor, so reading and uploading "
          f"are one step.\n")
    labels = ["CPU" if v["device"] == "cpu" else "WebGPU" for v in visits]
    print("| step | " + " | ".join(f"{l} (ms)" for l in labels) + " |")
    print("|---|" + "---|" * len(visits))
    steps = []
    for v in visits:
        steps += [s for s in v["ms"] if s not in steps]
    for step in steps:
        cells = [f"{v['ms'][step]:.0f}" if v["ms"].get(step) is not None else "–" for v in visits]
        print(f"| {step.replace('_', ' ')} | " + " | ".join(cells) + " |")
    print("| **opening the page → first top-k** | " + " | ".join(f"**{v['first_top_k_ms']:.0f}**" for v in visits) + " |")
    label = {"ioi": "IOI patching example done", "ioi-resid-pre": "IOI example's resid_pre grid done"}
    which = next((v.get("ioi_example") for v in visits if v.get("ioi_example")), "ioi")
    print(f"| **opening the page → {label.get(which, which)}** | " + " | ".join(
        f"**{v['ioi_example_ms']:.0f}**" if v.get("ioi_example_ms") else "not run" for v in visits) + " |")
    print()
    targets = {"cpu": 1.1, "wgpu": 0.3}
    for v, label in zip(visits, labels):
        ratio = v["memory_mb"] / v["parameters_f32_mb"]
        target = targets.get(v["device"])
        verdict = f"target ≤ {target}×: {'met' if ratio <= target else 'not met'}" if target else ""
        print(f"- {label}: the model worker's WebAssembly memory peaked at {v['memory_mb']:.0f} MiB while loading "
              f"= {ratio:.2f}× the f32 parameters ({v['parameters_f32_mb']:.0f} MiB); {verdict}.")
    cpu_visit = next((v for v in visits if v["device"] == "cpu"), None)
    if cpu_visit:
        prompt_ms = cpu_visit["ms"]["loaded_to_first_top_k"]
        native_ms = ours["cases"]["forward"]["median_s"] * 1e3
        print(f"\nA prompt in the app on the CPU fallback (15 tokens: forward with every attention pattern "
              f"cached, read back, top-k, drawn) took {prompt_ms:.0f} ms; the native CLI's 20-token forward "
              f"{native_ms:.0f} ms in the same run: {prompt_ms / native_ms:.1f}× (target ≤ 5×).")

# A sweep's cells shared among a pool of workers, each with its own copy of the model.
pool = optional(10)
if pool:
    print("\n## A sweep shared among workers\n")
    print(f"The IOI patching example's `{pool['sweep'].split(', ')[-1]}` sweep on {pool['model']}'s shape in "
          f"headless Chromium on the {pool['device'].upper()} fallback, its cells dealt out among the run "
          f"bar's *Workers* (`node bench/browser.mjs pool-cpu`; {pool['cores']} cores, the browser reports "
          f"{pool['device_memory_gib']} GiB of device memory; one worker's WebAssembly memory "
          f"{pool['memory_mb']:.0f} MiB). A pool's first run includes its new workers loading the model "
          f"from the browser's cache; speed-up = one worker's time / the pool's second run.\n")
    print("| workers | first run (s) | second run (s) | speed-up | the page's longest frame gap (ms) | the tab's peak memory (MiB) |")
    print("|---|---|---|---|---|---|")
    for r in pool["runs"]:
        gap, peak = r.get("longest_frame_gap_ms"), r.get("renderer_peak_mb")
        print(f"| {r['workers']} | {r['first_run_ms'] / 1e3:.1f} | {r['second_run_ms'] / 1e3:.1f} | "
              f"{r['speed_up']:.2f}× | {f'{gap:.0f}' if gap is not None else '–'} | {f'{peak:.0f}' if peak else '–'} |")
    one = next((r for r in pool["runs"] if r["workers"] == 1), None)
    if one and one.get("renderer_peak_mb") and pool.get("parameters_f32_mb"):
        ratio = one["renderer_peak_mb"] / pool["parameters_f32_mb"]
        gap = one["longest_frame_gap_ms"]
        print(f"\nOne worker, at full size: the page's longest frame gap {gap:.0f} ms (target ≤ 100 ms: "
              f"{'met' if gap <= 100 else 'not met'}); the tab's renderer process peaked at "
              f"{one['renderer_peak_mb']:.0f} MiB = {ratio:.2f}× the f32 weights (target ≤ 1.5×: "
              f"{'met' if ratio <= 1.5 else 'not met'}).")
    print("\nEach worker computes its share of the cells from its own base runs (the clean and "
          "corrupted caches, a few forward passes), and the page's worker writes the result from the "
          "merged values: the parts that do not divide are those base runs and the final write-up. "
          "More workers than cores share the cores and add a copy of the model each.")
