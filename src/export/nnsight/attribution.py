
# Attribution patching (Nanda): the metric's gradient on the corrupted run times (clean -
# corrupted) activation, from one forward and backward trace per side. Modules are read in the
# order a block runs them; q, k and v are read together from attn.c_attn's output.
ORDER = ["hook_resid_pre", "attn.hook_q", "attn.hook_z", "hook_attn_out", "hook_mlp_out"]
MODULE = {"attn.hook_k": "attn.hook_q", "attn.hook_v": "attn.hook_q"}
# A pattern's attribution: dL/dpattern = dL/dz_h @ v_h^T, times the patterns' difference.
READS = {"attn.hook_pattern": ["attn.hook_q", "attn.hook_z"]}
needed = sorted({m for _, site, _, _, _ in TARGETS for m in READS.get(site, [MODULE.get(site, site)])}, key=ORDER.index)


def forward_backward(tokens):
    sites, activations, gradients = {}, {}, {}
    with torch.enable_grad(), model.trace(tokens, **TRACE):
        for layer in range(n_layers):
            block = model.transformer.h[layer]
            for site in needed:
                sites[(site, layer)] = SITES[site](block)
        for key, proxy in sites.items():
            activations[key] = proxy.save()
        value = metric_per_prompt(model.lm_head.output).mean()
        saved = value.save()
        with value.backward():
            for key in reversed(list(sites)):
                gradients[key] = sites[key].grad.save()
    return saved.item(), activations, gradients


clean_value, clean_acts, _ = forward_backward(clean_tokens)
corrupted_value, corrupted_acts, corrupted_grads = forward_backward(corrupted_tokens)
results["metrics"].update(clean=clean_value, corrupted=corrupted_value)


def attribution(site, layer):
    """grad x (clean - corrupted) at a site; per head ([prompt, pos, head, d_head]) for q, k, v, z."""
    if site == "attn.hook_pattern":
        qkv, z = ("attn.hook_q", layer), ("attn.hook_z", layer)
        v = split_heads(corrupted_acts[qkv][..., 2 * n_heads * d_head:])
        grad_pattern = split_heads(corrupted_grads[z]) @ v.transpose(-1, -2)
        return grad_pattern * (pattern(clean_acts[qkv]) - pattern(corrupted_acts[qkv]))  # [prompt, head, query, key]
    key = (MODULE.get(site, site), layer)
    full = corrupted_grads[key] * (clean_acts[key] - corrupted_acts[key])
    if not site.startswith("attn."):
        return full
    start = OFFSETS.get(site, 0)
    return full[..., start:start + n_heads * d_head].reshape(n_prompts, n_pos, n_heads, d_head)


estimates = {}
for estimate, site, dims, axes, _ in TARGETS:
    estimates[estimate] = torch.stack([attribution(site, layer).sum(dim=dims) for layer in range(n_layers)])
    grid(f"attrib.{estimate}", axes, estimates[estimate])
