
# The metric's gradient at sites of transformers' GPT-2 from one forward and backward trace:
# modules are read, and RelP's rules applied, in the order a block runs them; q, k and v are
# read together from attn.c_attn's output.


def forward_backward(tokens, needed, rules=()):
    """The metric, and the activations and gradients at the `needed` sites of every layer, keyed
    (site, layer); RelP's `rules` in the backward pass."""
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
            if "hook_resid_mid" in needed:
                read("hook_resid_mid", layer, block.ln_2.input)
            if "ln" in rules:
                relp_layer_norm(block.ln_2)
            if "identity" in rules:
                relp_identity(block.mlp)
            if "hook_mlp_out" in needed:
                read("hook_mlp_out", layer, block.mlp.output)
            if "hook_resid_post" in needed:
                read("hook_resid_post", layer, block.output)
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


