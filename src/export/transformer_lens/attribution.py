
# Attribution patching (Nanda) and RelP: coeff x (clean - corrupted) activation, where coeff is
# the metric's gradient on the corrupted run (plain, or with RelP's rules in its backward pass).
NAMES = [f"blocks.{l}.{hook}" for l in range(model.cfg.n_layers) for hook in HOOKS]
PREFIX = {"gradient": "attrib", "relp": "relp"}


def forward_backward(tokens, rules=()):
    activations, gradients = {}, {}

    # Keyed by the name asked for: TransformerLens 4's bridge may call an aliased hook by its
    # own name (hook_resid_pre is blocks.L.hook_in there).
    def keep(x, hook, name):
        activations[name] = x.detach()

    def keep_gradient(g, hook, name):
        gradients[name] = g.detach()

    model.reset_hooks()
    for name, rule in relp_hooks(rules):
        model.add_hook(name, rule, "fwd")
    for name in NAMES:
        model.add_hook(name, partial(keep, name=name), "fwd")
        model.add_hook(name, partial(keep_gradient, name=name), "bwd")
    with torch.enable_grad():
        value = metric(model(tokens))
        value.backward()
    model.reset_hooks()
    model.zero_grad(set_to_none=True)
    return value.item(), activations, gradients


clean_value, clean_acts, _ = forward_backward(clean_tokens)


def attribution(name, dims):
    delta = clean_acts[name] - corrupted_acts[name]
    # No gradient arrives where a rule cuts the metric off (the AH-rule: queries and keys).
    grad = corrupted_grads.get(name, torch.zeros_like(delta))
    return (grad * delta).sum(dim=dims)


estimates = {}
for method in METHODS:
    corrupted_value, corrupted_acts, corrupted_grads = forward_backward(
        corrupted_tokens, RELP_RULES if method == "relp" else ())
    for estimate, hook, dims, axes, _ in TARGETS:
        estimates[(method, estimate)] = torch.stack([attribution(f"blocks.{l}.{hook}", dims) for l in range(model.cfg.n_layers)])
        grid(f"{PREFIX[method]}.{estimate}", axes, estimates[(method, estimate)])
results["metrics"].update(clean=clean_value, corrupted=corrupted_value)
