
# Attribution patching (Nanda) and RelP: coeff x (clean - corrupted) activation, where coeff is
# the metric's gradient on the corrupted run (plain, or with RelP's rules in its backward pass)
# from one forward and backward trace per side (`forward_backward`).
MODULE = {"attn.hook_k": "attn.hook_q", "attn.hook_v": "attn.hook_q"}
# A pattern's attribution: dL/dpattern = dL/dz_h @ v_h^T, times the patterns' difference.
READS = {"attn.hook_pattern": ["attn.hook_q", "attn.hook_z"]}
needed = {m for _, site, _, _, _ in TARGETS for m in READS.get(site, [MODULE.get(site, site)])}
PREFIX = {"gradient": "attrib", "relp": "relp"}
clean_value, clean_acts, _ = forward_backward(clean_tokens, needed)


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
for method in METHODS:
    corrupted_value, corrupted_acts, corrupted_grads = forward_backward(
        corrupted_tokens, needed, RELP_RULES if method == "relp" else ())
    for estimate, site, dims, axes, _ in TARGETS:
        estimates[(method, estimate)] = torch.stack([attribution(site, layer).sum(dim=dims) for layer in range(n_layers)])
        grid(f"{PREFIX[method]}.{estimate}", axes, estimates[(method, estimate)])
results["metrics"].update(clean=clean_value, corrupted=corrupted_value)
