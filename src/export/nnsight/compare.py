
# The activation patching each estimates, and Pearson's r between estimate and effect (the
# change from the corrupted run), per method.
PEARSON = {"gradient": "pearson", "relp": "pearson_relp"}
for estimate, site, _, axes, name in TARGETS:
    patched = patch(name, site, axes)
    for method in METHODS:
        pair = torch.stack([estimates[(method, estimate)].flatten(), (patched - corrupted_value).flatten()]).double()
        results["metrics"][f"{PEARSON[method]}.{estimate}"] = torch.corrcoef(pair)[0, 1].item()
