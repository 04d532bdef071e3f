
# Path patching (Wang et al. 2022), exactly: for each sender head, the base run with every
# head's output (hook_z) frozen to the base run's value except the sender's, which takes the
# source run's; MLPs recomputed. To the final residual stream: that run's metric. To receiver
# heads: that run's receiver inputs (hook_q/k/v) patched into a plain base run; its metric.
base_tokens, source_tokens = (clean_tokens, corrupted_tokens) if DIRECTION == "noising" else (corrupted_tokens, clean_tokens)
clean_value = metric_per_prompt(model(clean_tokens)).mean().item()
corrupted_value = metric_per_prompt(model(corrupted_tokens)).mean().item()
base_logits, base_cache = model.run_with_cache(base_tokens, names_filter=lambda name: name.endswith("hook_z"))
_, source_cache = model.run_with_cache(source_tokens, names_filter=lambda name: name.endswith("hook_z"))
results["metrics"].update(clean=clean_value, corrupted=corrupted_value, base=metric_per_prompt(base_logits).mean().item())
for layer, head in RECEIVERS:
    if layer >= model.cfg.n_layers or head >= model.cfg.n_heads:
        sys.exit(f"receiver head L{layer}H{head} does not exist ({model.cfg.n_layers} layers x {model.cfg.n_heads} heads)")
receiver_hooks = sorted({f"blocks.{layer}.attn.hook_{INPUT}" for layer, _ in RECEIVERS})


def frozen_except(sender_layer, sender_head):
    def freeze(z, hook):
        z[:] = base_cache[hook.name]
        if hook.layer() == sender_layer:
            z[:, :, sender_head] = source_cache[hook.name][:, :, sender_head]
        return z
    return [(lambda name: name.endswith("attn.hook_z"), freeze)]


per_prompt = torch.zeros(model.cfg.n_layers, model.cfg.n_heads, clean_tokens.shape[0])
for layer, head in itertools.product(range(model.cfg.n_layers), range(model.cfg.n_heads)):
    if not RECEIVERS:
        logits = model.run_with_hooks(base_tokens, fwd_hooks=frozen_except(layer, head))
    else:
        captured = {}

        def capture(x, hook):
            captured[hook.name] = x.clone()

        model.run_with_hooks(base_tokens, fwd_hooks=frozen_except(layer, head) + [(name, capture) for name in receiver_hooks])

        def patch_receivers(x, hook):
            for r_layer, r_head in RECEIVERS:
                if hook.layer() == r_layer:
                    x[:, :, r_head] = captured[hook.name][:, :, r_head]
            return x

        logits = model.run_with_hooks(base_tokens, fwd_hooks=[(name, patch_receivers) for name in receiver_hooks])
    per_prompt[layer, head] = metric_per_prompt(logits)
raw = per_prompt.mean(-1)
grid(f"path.{GRID}", ["layer", "head"], raw)
grid(f"path.{GRID}.normalised", ["layer", "head"], (raw - corrupted_value) / (clean_value - corrupted_value))
grid(f"path.{GRID}.per_prompt", ["layer", "head", "prompt"], per_prompt)
