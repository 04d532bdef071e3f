
# SAE feature attribution at the SAE's hook: the clean and corrupted activations split into
# features and the error term; each feature's (acts_c/s_c - acts_k/s_k) . (W_dec[f] . g), g the
# metric's gradient on the corrupted run (plain, or with RelP's rules in its backward pass), the
# error term the rest of (x_c - x_k) . g; the strongest features patched from the clean run.
clean_value, x_clean = at_sae_hook(clean_tokens)
corrupted_value, x_corrupted = at_sae_hook(corrupted_tokens)
batch, n_pos, d_in = x_clean.shape
xc, xk = x_clean.reshape(-1, d_in), x_corrupted.reshape(-1, d_in)
g = gradient_at_sae_hook(RELP_RULES if METHODS == ["relp"] else ()).reshape(-1, d_in)
acts_c, scale_c = sae.encode(xc).detach(), input_scale(sae, xc)
acts_k, scale_k = sae.encode(xk).detach(), input_scale(sae, xk)
by_feature = ((acts_c / scale_c - acts_k / scale_k) * (g @ sae.W_dec.detach().T)).reshape(batch, n_pos, -1).sum(0)
error = ((xc - xk) * g).sum(-1).reshape(batch, n_pos).sum(0) - by_feature.sum(-1)
summed = by_feature.sum(0)
top = torch.sort(-summed.abs(), stable=True).indices[:TOP]  # ties by lower id


def patched(delta):
    """The corrupted run's metric with `delta` [batch * pos, d_in] added at every position."""
    return metric_with_added(delta.reshape(batch, n_pos, d_in), slice(None)).mean().item()


def normalised(value):
    return (value - corrupted_value) / (clean_value - corrupted_value)


shares = [normalised(patched((acts_c[:, f:f + 1] - acts_k[:, f:f + 1]) @ sae.W_dec[f:f + 1].detach() / scale_k))
          for f in top[:PATCHED].tolist()]
error_c = (xc - sae.decode(sae.encode(xc))).detach()
error_k = (xk - sae.decode(sae.encode(xk))).detach()
grid("sae_attrib.top_features", ["rank"], top.float())
grid("sae_attrib.top_values", ["feature"], summed[top])
grid("sae_attrib.by_pos", ["feature", "pos"], by_feature[:, top].T)
grid("sae_attrib.error", ["pos"], error)
grid("sae_attrib.patched", ["feature"], torch.tensor(shares))
results["metrics"].update({"clean": clean_value, "corrupted": corrupted_value,
                           "sae_attrib.total": (summed.sum() + error.sum()).item(),
                           "sae_attrib.error_patched": normalised(patched(error_c - error_k))})
