
# The activation patching each estimates, and Pearson's r between estimate and effect (the
# change from the corrupted run), per method.
PEARSON = {"gradient": "pearson", "relp": "pearson_relp"}
_, clean_cache = model.run_with_cache(clean_tokens)
for estimate, _, _, axes, name in TARGETS:
    per_prompt = per_prompt_sweep(getattr(patching, f"get_act_patch_{name}"))
    patched = per_prompt.mean(-1)
    grid(f"patch.{name}", axes, patched)
    grid(f"patch.{name}.normalised", axes, (patched - corrupted_value) / (clean_value - corrupted_value))
    grid(f"patch.{name}.per_prompt", axes + ["prompt"], per_prompt)
    for method in METHODS:
        pair = torch.stack([estimates[(method, estimate)].flatten(), (patched - corrupted_value).flatten()]).double()
        results["metrics"][f"{PEARSON[method]}.{estimate}"] = torch.corrcoef(pair)[0, 1].item()
