
# Edge attribution patching (Syed et al. 2023): for every edge of the head/MLP graph,
# (clean - corrupted output of the upstream node) . (gradient of the metric on the corrupted run
# at the downstream node's own input), summed over prompts and positions; edge RelP takes that
# gradient with RelP's rules. TransformerLens gives each head its own q/k/v input
# (use_split_qkv_input), each head's output (use_attn_result) and the MLP's input
# (use_hook_mlp_in).
model.set_use_split_qkv_input(True)
model.set_use_attn_result(True)
model.set_use_hook_mlp_in(True)
n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
OUTPUTS = ["hook_embed", "hook_pos_embed"] + [f"blocks.{l}.{h}" for l in range(n_layers) for h in ("attn.hook_result", "hook_mlp_out")]
INPUTS = [f"blocks.{l}.{h}" for l in range(n_layers) for h in ("hook_q_input", "hook_k_input", "hook_v_input", "hook_mlp_in")] + [f"blocks.{n_layers - 1}.hook_resid_post"]
GRIDS = {"gradient": "eap.scores", "relp": "eap.relp_scores"}
clean_logits, clean_cache = model.run_with_cache(clean_tokens, names_filter=lambda name: name in OUTPUTS)


def is_edge(source, target):
    """The output is written before the input is read (a block's MLP reads its own heads)."""
    kind, layer = source
    if kind == "input" or target[0] == "logits":
        return True
    if target[0] == "head":
        return layer < target[1]
    return layer <= target[1] if kind == "head" else layer < target[1]


def edge_scores(rules):
    corrupted_acts, gradients = {}, {}

    # Keyed by the name asked for: TransformerLens 4's bridge may call an aliased hook by its
    # own name (hook_resid_pre is blocks.L.hook_in there).
    def keep(x, hook, name):
        corrupted_acts[name] = x.detach()

    def keep_gradient(g, hook, name):
        gradients[name] = g.detach()

    model.reset_hooks()
    for name, rule in relp_hooks(rules):
        model.add_hook(name, rule, "fwd")
    split_rules = split_input_rules(rules)
    for name in OUTPUTS:
        model.add_hook(name, partial(keep, name=name), "fwd")
    for name in INPUTS:
        model.add_hook(name, partial(keep_gradient, name=name), "bwd")
    with torch.enable_grad():
        per_prompt = metric_per_prompt(model(corrupted_tokens))
        per_prompt.mean().backward()
    model.reset_hooks()
    for handle in split_rules:
        handle.remove()
    model.zero_grad(set_to_none=True)
    results["metrics"].update(clean=metric_per_prompt(clean_logits).mean().item(), corrupted=per_prompt.mean().item())

    def delta(name):
        return clean_cache[name] - corrupted_acts[name]

    # Upstream nodes as Patchbay orders them: the embeddings, then per layer its heads and its MLP.
    up = [("input", None, delta("hook_embed") + delta("hook_pos_embed"))]
    for l in range(n_layers):
        result = delta(f"blocks.{l}.attn.hook_result")  # [batch, pos, head, d_model]
        up += [(("head", l), h, result[:, :, h]) for h in range(n_heads)]
        up.append((("mlp", l), None, delta(f"blocks.{l}.hook_mlp_out")))
    # Downstream: per layer the heads' q, then k, then v inputs and the MLP's; then the logits.
    down = []
    for l in range(n_layers):
        for kind in ("q", "k", "v"):
            # No gradient arrives where a rule cuts the metric off (the AH-rule: q and k).
            g = gradients.get(f"blocks.{l}.hook_{kind}_input", torch.zeros_like(gradients[f"blocks.{l}.hook_v_input"]))
            down += [(("head", l), g[:, :, h]) for h in range(n_heads)]
        down.append((("mlp", l), gradients[f"blocks.{l}.hook_mlp_in"]))
    down.append((("logits", n_layers), gradients[f"blocks.{n_layers - 1}.hook_resid_post"]))

    scores = torch.full((len(up), len(down)), float("nan"))
    for i, (source, _, d) in enumerate(up):
        source = ("input", -1) if source == "input" else source
        for j, (target, g) in enumerate(down):
            if is_edge(source, target):
                scores[i, j] = (d * g).sum()
    return scores


for method in METHODS:
    grid(GRIDS[method], ["upstream", "downstream"], edge_scores(RELP_RULES if method == "relp" else ()))
