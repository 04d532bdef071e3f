
# The logit lens and direct logit attribution onto each prompt's logit-difference direction,
# at the last position, as TransformerLens's ActivationCache computes them. "cached" divides by
# the final LayerNorm's scale from the run (after centring); "recomputed" applies ln_f to each
# partial stream.
pre, mid, z, attn, mlp = [], [], [], [], []
with model.trace(clean_tokens, **TRACE):
    embed = model.transformer.wte.output[:, -1].save()
    pos_embed = model.transformer.wpe.output[:, -1].save()
    for layer in range(n_layers):
        block = model.transformer.h[layer]
        pre.append(block.input[:, -1].save())
        z.append(block.attn.c_proj.input[:, -1].save())
        attn.append(block.attn.output[0][:, -1].save())
        mid.append(block.ln_2.input[:, -1].save())
        mlp.append(block.mlp.output[:, -1].save())
    final = model.transformer.ln_f.input[:, -1].save()
    per_prompt = metric_per_prompt(model.lm_head.output).save()
results["metrics"]["clean"] = per_prompt.mean().item()
unembed = model.lm_head.weight
directions = unembed[answers[:, 0]] - unembed[answers[:, 1]]
grid("lens.logit_diff_directions", ["prompt", "d_model"], directions)
ln_f = model.transformer.ln_f
centred = final - final.mean(-1, keepdim=True)
scale = (centred.pow(2).mean(-1, keepdim=True) + ln_f.eps).sqrt()


def cached_ln(stack):
    return (stack - stack.mean(-1, keepdim=True)) / scale


def lens(name, stack):
    grid(f"lens.{name}", ["component", "prompt", "d_model"], stack)
    per_prompt = (stack * directions).sum(-1)
    grid(f"lens.{name}_logit_diff_per_prompt", ["component", "prompt"], per_prompt)
    grid(f"lens.{name}_logit_diff", ["component"], per_prompt.mean(-1))


raw = torch.stack([x for layer in range(n_layers) for x in (pre[layer], mid[layer])] + [final])
lens("accumulated_resid_raw", raw)
recomputed = torch.nn.functional.layer_norm(raw, (raw.shape[-1],), ln_f.weight, ln_f.bias, ln_f.eps)
lens("accumulated_resid_ln_recomputed", recomputed)
lens("accumulated_resid_ln_cached", cached_ln(raw))
parts = [embed, pos_embed.expand_as(embed)] + [x for layer in range(n_layers) for x in (attn[layer], mlp[layer])]
lens("decompose_resid", cached_ln(torch.stack(parts)))
heads = []
for layer in range(n_layers):
    w_o = model.transformer.h[layer].attn.c_proj.weight  # Conv1D: [in, out], heads' rows in order
    for head in range(n_heads):
        rows = slice(head * d_head, (head + 1) * d_head)
        heads.append(z[layer][:, rows] @ w_o[rows])
heads = cached_ln(torch.stack(heads))
grid("lens.head_results", ["component", "prompt", "d_model"], heads)
per_head = (heads * directions).sum(-1).reshape(n_layers, n_heads, n_prompts)
grid("lens.head_dla_logit_diff_per_prompt", ["layer", "head", "prompt"], per_head)
grid("lens.head_dla_logit_diff", ["layer", "head"], per_head.mean(-1))
