
# Keep only the heads in KEEP; every other head's output (hook_z) is replaced by its mean over
# the clean batch and positions.
for layer, head in KEEP:
    if layer >= model.cfg.n_layers or head >= model.cfg.n_heads:
        sys.exit(f"head L{layer}H{head} does not exist ({model.cfg.n_layers} layers x {model.cfg.n_heads} heads)")
_, clean_cache = model.run_with_cache(clean_tokens)


def ablate_others(z, hook):
    for head in range(model.cfg.n_heads):
        if (hook.layer(), head) not in KEEP:
            z[:, :, head] = clean_cache[hook.name][:, :, head].mean((0, 1))
    return z


logits = model.run_with_hooks(clean_tokens, fwd_hooks=[(lambda name: name.endswith("attn.hook_z"), ablate_others)])
per_prompt = metric_per_prompt(logits)
results["metrics"]["circuit"] = per_prompt.mean().item()
grid("circuit.per_prompt", ["prompt"], per_prompt)
