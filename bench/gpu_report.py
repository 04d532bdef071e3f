#!/usr/bin/env python3
"""ci/gpu-bench's report: one JSON of every run and a BENCHMARKS.md section, from the run's
files in DIR (patchbay-wgpu.json, torch.json, browser-webgpu.json, tjs-webgpu.json; an empty
file: that run failed or was skipped).

Usage: gpu_report.py DIR QUICK(0|1)  -> writes DIR/gpu-bench.json, prints the section"""
import json
import os
import sys
from datetime import datetime, timezone

from gpu_work import gpu_work_section

folder, quick = sys.argv[1], sys.argv[2] == "1"


def load(name):
    path = os.path.join(folder, name)
    text = open(path).read().strip() if os.path.exists(path) else ""
    return json.loads(text) if text else None


runs = {name: load(f"{name}.json") for name in ("patchbay-wgpu", "torch", "browser-webgpu", "tjs-webgpu")}
when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
with open(os.path.join(folder, "gpu-bench.json"), "w") as f:
    json.dump({"measured": when, "quick": quick, **runs}, f, indent=1)


def ms(report, name):
    case = (report or {}).get("cases", {}).get(name)
    return case["median_s"] * 1e3 if case else None


def cell(value):
    return f"{value:.1f}" if value is not None else "–"


def ratio(theirs, ours):
    return f"{theirs / ours:.2f}×" if theirs and ours else "–"


native, torch_run = runs["patchbay-wgpu"], runs["torch"]
browser, tjs = runs["browser-webgpu"], runs["tjs-webgpu"]
print("<!-- ci/gpu-bench -->")
print("## On a GPU (`ci/gpu-bench`)\n")
where = (browser or {}).get("adapter") or "adapter unknown"
print(f"Measured {when} by `ci/gpu-bench{' --quick' if quick else ''}`. "
      f"Native: `patchbay bench --device wgpu` (Vulkan) against TransformerLens and Hugging Face on "
      f"{(torch_run or {}).get('device', 'torch: did not run')}"
      f"{' (torch ' + torch_run['versions']['torch'] + ')' if torch_run else ''}. Browser: the Benchmark "
      f"panel on WebGPU ({where}) against transformers.js's WebGPU backend in the same Chromium. "
      f"{(native or {}).get('model', '')}. Medians; ratio = other / Patchbay (> 1: Patchbay is faster).")
if quick:
    print("\n**--quick**: an emulated GPU (lavapipe natively, SwiftShader in the browser) and a narrow "
          "model — a check that the bench runs end to end, not a measure of GPU speed.")
print("\n| workload | Patchbay wgpu (ms) | TransformerLens (ms) | ratio | Hugging Face (ms) | ratio |")
print("|---|---|---|---|---|---|")
for ours, tl, hf in (("forward", "tl_forward", "hf_forward"), ("patch_sweep", "tl_patch_sweep", None),
                     ("generate_kv", "tl_generate_kv", "hf_generate_kv")):
    mine, theirs, hugging = ms(native, ours), ms(torch_run, tl), ms(torch_run, hf) if hf else None
    print(f"| {ours} | {cell(mine)} | {cell(theirs)} | {ratio(theirs, mine)} | {cell(hugging)} | {ratio(hugging, mine)} |")
print("\n| workload (browser) | Patchbay WebGPU (ms) | transformers.js WebGPU (ms) | ratio |")
print("|---|---|---|---|")
for name in ("forward", "generate_kv"):
    mine, theirs = ms(browser, name), ms(tjs, name)
    print(f"| {name} | {cell(mine)} | {cell(theirs)} | {ratio(theirs, mine)} |")
launches = ((native or {}).get("cases", {}).get("forward", {}).get("gpu_calls") or {}).get("kernel_launches")
if launches:
    print(f"\nNatively a forward launched {launches} kernels (CubeCL's launch observer).")
gpu_work_section(browser, tjs)
print("<!-- /ci/gpu-bench -->")
