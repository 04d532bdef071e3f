
# Each feature patched at each position: the corrupted run with
# x_k[p] + (acts_c[p, f] - acts_k[p, f]) W_dec[f] / s_k[p]; the error term: x_k[p] + err_c[p] - err_k[p].


def patched_at_each_position(delta):
    """The metric per prompt with `delta` [batch * pos, d_in] added at one position: [pos, prompt]."""
    delta = delta.reshape(batch, n_pos, d_in)
    return torch.stack([metric_with_added(delta, pos) for pos in range(n_pos)])


def sae_patch_grids(name, axes, per_prompt):
    patched = per_prompt.mean(-1)
    grid(name, axes, patched)
    grid(f"{name}.normalised", axes, (patched - sae_corrupted_value) / (sae_clean_value - sae_corrupted_value))
    grid(f"{name}.per_prompt", axes + ["prompt"], per_prompt)
    return patched


feature_patched = sae_patch_grids("sae_patch.features", ["feature", "pos"], torch.stack([
    patched_at_each_position((acts_c[:, f:f + 1] - acts_k[:, f:f + 1]) @ sae.W_dec[f:f + 1].detach() / scale_k)
    for f in FEATURES]))
sae_patch_grids("sae_patch.error", ["pos"], patched_at_each_position(error_c - error_k))
