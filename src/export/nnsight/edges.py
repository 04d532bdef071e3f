
# Edge attribution patching (Syed et al. 2023): for every edge of the head/MLP graph,
# (clean - corrupted output of the upstream node) . (gradient of the metric on the corrupted run
# at the downstream node's own input), summed over prompts and positions; edge RelP takes that
# gradient with RelP's rules. A head's own q, k or v input gradient is its slice of
# attn.c_attn's output gradient, back through its columns of the weight and through ln_1 (an
# MLP's: its input gradient back through ln_2).
GRIDS = {"gradient": "eap.scores", "relp": "eap.relp_scores"}


def outputs_and_inputs(tokens, gradients, rules=()):
    saved, sites = {}, {}
    with torch.enable_grad(), model.trace(tokens, **TRACE):
        saved["embed"] = (model.transformer.wte.output + model.transformer.wpe.output).save()
        for layer in range(n_layers):
            block = model.transformer.h[layer]
            saved[("ln_1", layer)] = x = block.ln_1.input.save()
            if "ln" in rules:
                relp_layer_norm(block.ln_1, x)
            sites[("qkv", layer)] = qkv = block.attn.c_attn.output
            z = relp_attention(block.attn, qkv) if "attention" in rules else block.attn.c_proj.input
            saved[("z", layer)] = z.save()
            saved[("ln_2", layer)] = x = block.ln_2.input.save()
            if "ln" in rules:
                relp_layer_norm(block.ln_2, x)
            sites[("mlp_in", layer)] = block.mlp.input
            if "identity" in rules:
                relp_identity(block.mlp)
            saved[("mlp_out", layer)] = block.mlp.output.save()
        sites["final"] = x = model.transformer.ln_f.input
        if "ln" in rules:
            relp_layer_norm(model.transformer.ln_f, x)
        per_prompt = metric_per_prompt(model.lm_head.output)
        saved["value"] = per_prompt.mean().save()
        if gradients is not None:
            with per_prompt.mean().backward():
                for key in reversed(list(sites)):
                    gradients[key] = sites[key].grad.save()
    return saved


def is_edge(source, target):
    """The output is written before the input is read (a block's MLP reads its own heads)."""
    (kind, layer), (to_kind, to_layer) = source, target
    if kind == "input" or to_kind == "logits":
        return True
    if to_kind == "head":
        return layer < to_layer
    return layer <= to_layer if kind == "head" else layer < to_layer


clean = outputs_and_inputs(clean_tokens, None)
d_model = model.config.n_embd


def edge_scores(rules):
    grads = {}
    corrupted = outputs_and_inputs(corrupted_tokens, grads, rules)
    results["metrics"].update(clean=clean["value"].item(), corrupted=corrupted["value"].item())
    ln_rule = "ln" in rules
    up, down = [("input", -1, clean["embed"] - corrupted["embed"])], []
    for layer in range(n_layers):
        block = model.transformer.h[layer]
        w_o = block.attn.c_proj.weight  # Conv1D: [in, out], heads' rows in order
        for head in range(n_heads):
            rows = slice(head * d_head, (head + 1) * d_head)
            up.append(("head", layer, (clean[("z", layer)][..., rows] - corrupted[("z", layer)][..., rows]) @ w_o[rows]))
        up.append(("mlp", layer, clean[("mlp_out", layer)] - corrupted[("mlp_out", layer)]))
        w_qkv = block.attn.c_attn.weight  # [d_model, 3 * d_model]
        for third in range(3):  # q, then k, then v
            for head in range(n_heads):
                columns = slice(third * d_model + head * d_head, third * d_model + (head + 1) * d_head)
                g = grads[("qkv", layer)][..., columns] @ w_qkv[:, columns].T
                down.append(("head", layer, layer_norm_backward(block.ln_1, corrupted[("ln_1", layer)], g, ln_rule)))
        down.append(("mlp", layer, layer_norm_backward(block.ln_2, corrupted[("ln_2", layer)], grads[("mlp_in", layer)], ln_rule)))
    down.append(("logits", n_layers, grads["final"]))

    deltas = torch.stack([d.flatten() for _, _, d in up])
    gradients = torch.stack([g.flatten() for _, _, g in down])
    scores = deltas @ gradients.T
    for i, (kind, layer, _) in enumerate(up):
        for j, (to_kind, to_layer, _) in enumerate(down):
            if not is_edge((kind, layer), (to_kind, to_layer)):
                scores[i, j] = float("nan")
    return scores


for method in METHODS:
    grid(GRIDS[method], ["upstream", "downstream"], edge_scores(RELP_RULES if method == "relp" else ()))
