
# The SAE's hook in TransformerLens: its activation and the metric, the metric's gradient there
# on the corrupted run, and the corrupted run with a change added at one position.
sae, SAE_HOOK = load_sae(sae_folder(SAE_ID))


def at_sae_hook(tokens):
    kept = {}

    def keep(x, hook):
        kept["x"] = x.detach()

    logits = model.run_with_hooks(tokens, fwd_hooks=[(SAE_HOOK, keep)])
    return metric(logits).item(), kept["x"]


def gradient_at_sae_hook(rules):
    """[prompt, pos, d_in]; zero where RelP's rules cut the metric off."""
    kept = {}

    def keep_gradient(g, hook):
        kept["g"] = g.detach()

    model.reset_hooks()
    for name, rule in relp_hooks(rules):
        model.add_hook(name, rule, "fwd")
    model.add_hook(SAE_HOOK, keep_gradient, "bwd")
    with torch.enable_grad():
        metric(model(corrupted_tokens)).backward()
    model.reset_hooks()
    model.zero_grad(set_to_none=True)
    return kept.get("g", torch.zeros_like(x_corrupted))


def metric_with_added(delta, pos):
    """Each prompt's metric on the corrupted run with delta[:, pos] ([prompt, pos, d_in]) added
    there (`pos`: a position, or slice(None) for every one)."""
    def add(x, hook):
        x = x.clone()
        x[:, pos] += delta[:, pos]
        return x

    return metric_per_prompt(model.run_with_hooks(corrupted_tokens, fwd_hooks=[(SAE_HOOK, add)])).detach()
