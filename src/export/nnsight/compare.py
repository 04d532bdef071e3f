
# The activation patching each estimates, and Pearson's r between estimate and effect (the
# change from the corrupted run).
for estimate, site, _, axes, name in TARGETS:
    patched = patch(name, site, axes)
    pair = torch.stack([estimates[estimate].flatten(), (patched - corrupted_value).flatten()]).double()
    results["metrics"][f"pearson.{estimate}"] = torch.corrcoef(pair)[0, 1].item()
