
# Keep only the heads in KEEP; every other head's output (the input of attn.c_proj) is replaced
# by its mean over the clean batch and positions, in one trace.
for layer, head in KEEP:
    if layer >= n_layers or head >= n_heads:
        sys.exit(f"head L{layer}H{head} does not exist ({n_layers} layers x {n_heads} heads)")
clean = activations(clean_tokens, "attn.hook_z")
with model.trace(clean_tokens, **TRACE):
    for layer in range(n_layers):
        z = model.transformer.h[layer].attn.c_proj.input
        for head in range(n_heads):
            if (layer, head) not in KEEP:
                rows = head_slice("attn.hook_z", head)
                z[:, :, rows] = clean[layer][:, :, rows].mean((0, 1))
    per_prompt = metric_per_prompt(model.lm_head.output).save()
results["metrics"]["circuit"] = per_prompt.mean().item()
grid("circuit.per_prompt", ["prompt"], per_prompt)
