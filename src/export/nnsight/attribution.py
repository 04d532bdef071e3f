
# Attribution patching (Nanda) and RelP: coeff x (clean - corrupted) activation, where coeff is
# the metric's gradient on the corrupted run (plain, or with RelP's rules in its backward pass)
# from one forward and backward trace per side. Modules are read, and RelP's rules applied, in
# the order a block runs them; q, k and v are read together from attn.c_attn's output.
MODULE = {"attn.hook_k": "attn.hook_q", "attn.hook_v": "attn.hook_q"}
# A pattern's attribution: dL/dpattern = dL/dz_h @ v_h^T, times the patterns' difference.
READS = {"attn.hook_pattern": ["attn.hook_q", "attn.hook_z"]}
needed = {m for _, site, _, _, _ in TARGETS for m in READS.get(site, [MODULE.get(site, site)])}
PREFIX = {"gradient": "attrib", "relp": "relp"}


def forward_backward(tokens, rules=()):
    sites, activations, gradients = {}, {}, {}

    def read(site, layer, value):
        if site in needed:
            sites[(site, layer)] = value

    with torch.enable_grad(), model.trace(tokens, **TRACE):
        for layer in range(n_layers):
            block = model.transformer.h[layer]
            if "hook_resid_pre" in needed:
                read("hook_resid_pre", layer, block.input)
            if "ln" in rules:
                relp_layer_norm(block.ln_1)
            if "attn.hook_q" in needed or "attention" in rules:
                qkv = block.attn.c_attn.output
                read("attn.hook_q", layer, qkv)
            if "attention" in rules:
                read("attn.hook_z", layer, relp_attention(block.attn, qkv))
            elif "attn.hook_z" in needed:
                read("attn.hook_z", layer, block.attn.c_proj.input)
            if "hook_attn_out" in needed:
                read("hook_attn_out", layer, block.attn.output[0])
            if "ln" in rules:
                relp_layer_norm(block.ln_2)
            if "identity" in rules:
                relp_identity(block.mlp)
            if "hook_mlp_out" in needed:
                read("hook_mlp_out", layer, block.mlp.output)
        if "ln" in rules:
            relp_layer_norm(model.transformer.ln_f)
        for key, value in sites.items():
            activations[key] = value.save()
        value = metric_per_prompt(model.lm_head.output).mean()
        saved = value.save()
        with value.backward():
            for key in reversed(list(sites)):
                gradients[key] = sites[key].grad.save()
    return saved.item(), activations, gradients


clean_value, clean_acts, _ = forward_backward(clean_tokens)


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
        corrupted_tokens, RELP_RULES if method == "relp" else ())
    for estimate, site, dims, axes, _ in TARGETS:
        estimates[(method, estimate)] = torch.stack([attribution(site, layer).sum(dim=dims) for layer in range(n_layers)])
        grid(f"{PREFIX[method]}.{estimate}", axes, estimates[(method, estimate)])
results["metrics"].update(clean=clean_value, corrupted=corrupted_value)
