
# Pearson's r between each method's estimate and the effect of patching (the change from the
# corrupted run), over every feature and position.
SAE_PEARSON = {"gradient": "sae_patch.pearson", "relp": "sae_patch.pearson_relp"}
for method in METHODS:
    pair = torch.stack([sae_estimates[method].flatten(), (feature_patched - sae_corrupted_value).flatten()]).double()
    results["metrics"][SAE_PEARSON[method]] = torch.corrcoef(pair)[0, 1].item()
