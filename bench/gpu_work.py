"""What a forward pass and a generated token ask of WebGPU (bench/report.py, bench/gpu_report.py)."""


def gpu_work_section(ours_wgpu, tjs_wgpu):
    """What a forward and a generated token ask of WebGPU, Patchbay against transformers.js."""
    def calls(report, name):
        case = (report or {}).get("cases", {}).get(name) or {}
        return (case.get("gpu_calls") or {}).get("webgpu")
    rows = [("Patchbay", ours_wgpu), ("transformers.js (ONNX Runtime WebGPU)", tjs_wgpu)]
    if not any(calls(r, "forward") for _, r in rows):
        return
    print("\n### What a forward pass asks of WebGPU\n")
    print("Counted in the same runs by one set of wrappers on WebGPU's prototypes (`src/ui/gpu.js`, "
          "injected into transformers.js's page by `bench/browser.mjs`): the last timed run of each "
          "workload, kernels already compiled. Per generated token = (32 tokens with the KV cache − "
          "the 20-token forward) / 31, the steps after the prompt's.\n")
    keys = ("dispatches", "writes", "written_bytes", "reads", "submits", "pipelines", "bind_groups", "buffers")
    print("| library | run | " + " | ".join(k.replace("_", " ") for k in keys) + " |")
    print("|---|---|" + "---|" * len(keys))
    for label, report in rows:
        forward, generated = calls(report, "forward"), calls(report, "generate_kv")
        if forward:
            print(f"| {label} | forward, 20 tokens | " + " | ".join(str(forward[k]) for k in keys) + " |")
        if forward and generated:
            print(f"| {label} | per generated token | " + " | ".join(
                f"{(generated[k] - forward[k]) / 31:.1f}" for k in keys) + " |")
    kernels = ((ours_wgpu or {}).get("cases", {}).get("forward", {}).get("gpu_calls") or {}).get("kernels") or {}
    if kernels:
        top = sorted(kernels.items(), key=lambda kv: -kv[1])[:10]
        print("\nPatchbay's forward by kernel (CubeCL's launch observer), the ten most launched: " +
              "; ".join(f"`{name}` × {n}" for name, n in top) + ".")
    for label, report in rows:
        case = (report or {}).get("cases", {}).get("forward") or {}
        if case.get("first_run_s") and case.get("median_s"):
            print(f"\n{label}: the first forward (every kernel compiled) took {case['first_run_s'] * 1e3:.0f} ms, "
                  f"a steady one {case['median_s'] * 1e3:.0f} ms.")

