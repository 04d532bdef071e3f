
# Attribution patching (Nanda): the metric's gradient on the corrupted run times (clean -
# corrupted) activation, from one forward and backward pass per side, with hooks.
NAMES = [f"blocks.{l}.{hook}" for l in range(model.cfg.n_layers) for hook in HOOKS]


def forward_backward(tokens):
    activations, gradients = {}, {}

    def keep(x, hook):
        activations[hook.name] = x.detach()

    def keep_gradient(g, hook):
        gradients[hook.name] = g.detach()

    model.reset_hooks()
    for name in NAMES:
        model.add_hook(name, keep, "fwd")
        model.add_hook(name, keep_gradient, "bwd")
    with torch.enable_grad():
        value = metric(model(tokens))
        value.backward()
    model.reset_hooks()
    model.zero_grad(set_to_none=True)
    return value.item(), activations, gradients


clean_value, clean_acts, _ = forward_backward(clean_tokens)
corrupted_value, corrupted_acts, corrupted_grads = forward_backward(corrupted_tokens)
results["metrics"].update(clean=clean_value, corrupted=corrupted_value)


def attribution(name, dims):
    return (corrupted_grads[name] * (clean_acts[name] - corrupted_acts[name])).sum(dim=dims)


estimates = {}
for estimate, hook, dims, axes, _ in TARGETS:
    estimates[estimate] = torch.stack([attribution(f"blocks.{l}.{hook}", dims) for l in range(model.cfg.n_layers)])
    grid(f"attrib.{estimate}", axes, estimates[estimate])
