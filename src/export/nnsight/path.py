
# Path patching (Wang et al. 2022), exactly: for each sender head, the base run with every
# head's output (the input of attn.c_proj) frozen to the base run's value except the sender's,
# which takes the source run's; MLPs recomputed. To the final residual stream: that run's
# metric. To receiver heads: that run's receiver inputs (their slice of attn.c_attn's output)
# patched into a plain base run; its metric. Two traces a sender.
base_tokens, source_tokens = (clean_tokens, corrupted_tokens) if DIRECTION == "noising" else (corrupted_tokens, clean_tokens)
clean_value = run(clean_tokens).mean().item()
corrupted_value = run(corrupted_tokens).mean().item()
results["metrics"].update(clean=clean_value, corrupted=corrupted_value, base=run(base_tokens).mean().item())
for layer, head in RECEIVERS:
    if layer >= n_layers or head >= n_heads:
        sys.exit(f"receiver head L{layer}H{head} does not exist ({n_layers} layers x {n_heads} heads)")
SITE = f"attn.hook_{INPUT}"
receiver_layers = sorted({layer for layer, _ in RECEIVERS})
base_z = activations(base_tokens, "attn.hook_z")
source_z = activations(source_tokens, "attn.hook_z")
per_prompt = torch.zeros(n_layers, n_heads, n_prompts)
for layer, head in itertools.product(range(n_layers), range(n_heads)):
    rows = head_slice("attn.hook_z", head)
    sender = base_z[layer].clone()
    sender[:, :, rows] = source_z[layer][:, :, rows]
    captured = {}
    with model.trace(base_tokens, **TRACE):
        for l in range(n_layers):
            block = model.transformer.h[l]
            if l in receiver_layers:
                captured[l] = block.attn.c_attn.output.save()
            block.attn.c_proj.input[:] = sender if l == layer else base_z[l]
        frozen = metric_per_prompt(model.lm_head.output).save()
    if not RECEIVERS:
        per_prompt[layer, head] = frozen
        continue
    with model.trace(base_tokens, **TRACE):
        for l in receiver_layers:
            qkv = model.transformer.h[l].attn.c_attn.output
            for r_layer, r_head in RECEIVERS:
                if r_layer == l:
                    r_rows = head_slice(SITE, r_head)
                    qkv[:, :, r_rows] = captured[l][:, :, r_rows]
        patched = metric_per_prompt(model.lm_head.output).save()
    per_prompt[layer, head] = patched
raw = per_prompt.mean(-1)
grid(f"path.{GRID}", ["layer", "head"], raw)
grid(f"path.{GRID}.normalised", ["layer", "head"], (raw - corrupted_value) / (clean_value - corrupted_value))
grid(f"path.{GRID}.per_prompt", ["layer", "head", "prompt"], per_prompt)
