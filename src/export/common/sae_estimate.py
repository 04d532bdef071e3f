
# Each feature's attribution at each position, summed over prompts:
# (acts_c / s_c - acts_k / s_k)[p, f] (W_dec[f] . g[p]), g the metric's gradient at the hook on
# the corrupted run (plain, or with RelP's rules in its backward pass); the error term's, the
# rest of (x_c - x_k)[p] . g[p].
SAE_GRIDS = {"gradient": "sae_patch.attrib", "relp": "sae_patch.relp"}
sae_estimates = {}
for method in METHODS:
    g = gradient_at_sae_hook(RELP_RULES if method == "relp" else ()).reshape(-1, d_in)
    by_feature = ((acts_c / scale_c - acts_k / scale_k) * (g @ sae.W_dec.detach().T)).reshape(batch, n_pos, -1).sum(0)
    sae_error = ((xc - xk) * g).sum(-1).reshape(batch, n_pos).sum(0) - by_feature.sum(-1)
    sae_estimates[method] = by_feature[:, FEATURES].T
    grid(SAE_GRIDS[method], ["feature", "pos"], sae_estimates[method])
    grid(f"{SAE_GRIDS[method]}_error", ["pos"], sae_error)
