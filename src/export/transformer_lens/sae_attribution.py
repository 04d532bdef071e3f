
# SAE feature attribution at the SAE's hook: the clean and corrupted activations split into
# features and the error term; each feature's (acts_c/s_c - acts_k/s_k) . (W_dec[f] . g), g the
# metric's gradient on the corrupted run (plain, or with RelP's rules in its backward pass), the
# error term the rest of (x_c - x_k) . g; the strongest features patched from the clean run.
sae, HOOK = load_sae(sae_folder(SAE_ID))


def forward_backward(tokens, rules=()):
    kept = {}

    def keep(x, hook):
        kept["x"] = x.detach()

    def keep_gradient(g, hook):
        kept["g"] = g.detach()

    model.reset_hooks()
    for name, rule in relp_hooks(rules):
        model.add_hook(name, rule, "fwd")
    model.add_hook(HOOK, keep, "fwd")
    model.add_hook(HOOK, keep_gradient, "bwd")
    with torch.enable_grad():
        value = metric(model(tokens))
        value.backward()
    model.reset_hooks()
    model.zero_grad(set_to_none=True)
    return value.item(), kept["x"], kept.get("g")


clean_value, x_clean, _ = forward_backward(clean_tokens)
corrupted_value, x_corrupted, gradient = forward_backward(corrupted_tokens, RELP_RULES if METHODS == ["relp"] else ())
batch, n_pos, d_in = x_clean.shape
xc, xk = x_clean.reshape(-1, d_in), x_corrupted.reshape(-1, d_in)
g = (gradient if gradient is not None else torch.zeros_like(x_corrupted)).reshape(-1, d_in)
acts_c, scale_c = sae.encode(xc), input_scale(sae, xc)
acts_k, scale_k = sae.encode(xk), input_scale(sae, xk)
by_feature = ((acts_c / scale_c - acts_k / scale_k) * (g @ sae.W_dec.T)).reshape(batch, n_pos, -1).sum(0)
error = ((xc - xk) * g).sum(-1).reshape(batch, n_pos).sum(0) - by_feature.sum(-1)
summed = by_feature.sum(0)
top = torch.sort(-summed.abs(), stable=True).indices[:TOP]  # ties by lower id


def patched(delta):
    def add(x, hook):
        return x + delta.reshape(x.shape)

    return metric(model.run_with_hooks(corrupted_tokens, fwd_hooks=[(HOOK, add)])).item()


def normalised(value):
    return (value - corrupted_value) / (clean_value - corrupted_value)


shares = [normalised(patched((acts_c[:, f:f + 1] - acts_k[:, f:f + 1]) @ sae.W_dec[f:f + 1] / scale_k))
          for f in top[:PATCHED].tolist()]
error_c = xc - sae.decode(sae.encode(xc))
error_k = xk - sae.decode(sae.encode(xk))
grid("sae_attrib.top_features", ["rank"], top.float())
grid("sae_attrib.top_values", ["feature"], summed[top])
grid("sae_attrib.by_pos", ["feature", "pos"], by_feature[:, top].T)
grid("sae_attrib.error", ["pos"], error)
grid("sae_attrib.patched", ["feature"], torch.tensor(shares))
results["metrics"].update({"clean": clean_value, "corrupted": corrupted_value,
                           "sae_attrib.total": (summed.sum() + error.sum()).item(),
                           "sae_attrib.error_patched": normalised(patched(error_c - error_k))})
