

# Each hook's site read and written once a trace, in the order the forward pass reaches them
# (nnsight's rule): the embeddings, then per block resid_pre, q/k/v (thirds of attn.c_attn's
# output), attention scores and pattern (computed from q and k, written back as the heads'
# z = pattern @ v), z (attn.c_proj's input), attn_out, resid_mid, the MLP's pre and post,
# mlp_out, resid_post.
HOOKED = {intervention["hook"] for intervention in INTERVENTIONS}


def apply_all(name, x):
    """x after every intervention at `name`, in the spec's order."""
    for intervention in INTERVENTIONS:
        if intervention["hook"] == name:
            x = intervened(intervention, x)
    return x


def at(name, site, as_hook=lambda x: x, back=lambda x: x):
    """Rewrites site() (a tensor of the trace, read only when asked for) in place when
    interventions act at `name`; as_hook gives it in the hook's shape, back undoes that."""
    if name in HOOKED:
        x = site()
        x[:] = back(apply_all(name, as_hook(x)))


def heads(x):
    """[prompt, pos, head * d_head] as TransformerLens's [prompt, pos, head, d_head]."""
    return x.reshape(x.shape[0], x.shape[1], n_heads, d_head)


def merged(x):
    return x.reshape(x.shape[0], x.shape[1], n_heads * d_head)


def attention(block, name):
    """q, k, v, the scores, the pattern and z of one block, each with its interventions."""
    d_model = model.config.n_embd
    qkv = block.attn.c_attn.output
    for i, part in enumerate(["attn.hook_q", "attn.hook_k", "attn.hook_v"]):
        at(name(part), lambda: qkv[..., i * d_model:(i + 1) * d_model], heads, merged)
    if name("attn.hook_attn_scores") in HOOKED or name("attn.hook_pattern") in HOOKED:
        q, k, v = (split_heads(qkv[..., i * d_model:(i + 1) * d_model]) for i in range(3))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d_head)
        causal = torch.ones(scores.shape[-2:], dtype=torch.bool).tril()
        scores = apply_all(name("attn.hook_attn_scores"), scores.masked_fill(~causal, -math.inf))
        pattern = apply_all(name("attn.hook_pattern"), scores.softmax(-1))
        block.attn.c_proj.input[:] = merged((pattern @ v).transpose(1, 2))
    at(name("attn.hook_z"), lambda: block.attn.c_proj.input, heads, merged)
    at(name("hook_attn_out"), lambda: block.attn.output[0])


def intervene():
    transformer = model.transformer
    at("hook_embed", lambda: transformer.wte.output)
    at("hook_pos_embed", lambda: transformer.wpe.output)
    for layer, block in enumerate(transformer.h):
        def name(hook, layer=layer):
            return f"blocks.{layer}.{hook}"

        if not any(hook.startswith(name("")) for hook in HOOKED):
            continue
        at(name("hook_resid_pre"), lambda: block.input)
        if any(hook.startswith(name("attn.")) or hook == name("hook_attn_out") for hook in HOOKED):
            attention(block, name)
        at(name("hook_resid_mid"), lambda: block.ln_2.input)
        at(name("mlp.hook_pre"), lambda: block.mlp.c_fc.output)
        at(name("mlp.hook_post"), lambda: block.mlp.act.output)
        at(name("hook_mlp_out"), lambda: block.mlp.output)
        at(name("hook_resid_post"), lambda: block.output)
