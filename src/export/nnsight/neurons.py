
# Direct logit attribution of every MLP neuron at the last position: its activation times its
# row of W_out (mlp.c_proj's Conv1D weight, [d_mlp, d_model]), centred and divided by the
# final LayerNorm's scale from the run (TransformerLens's apply_ln_to_stack), onto each prompt's
# logit-difference direction; the TOP neurons by mean |activation| x |W_out row|.
posts = []
with model.trace(clean_tokens, **TRACE):
    for layer in range(n_layers):
        posts.append(model.transformer.h[layer].mlp.act.output[:, -1].save())
    final = model.transformer.ln_f.input[:, -1].save()
    per_prompt = metric_per_prompt(model.lm_head.output).save()
results["metrics"]["clean"] = per_prompt.mean().item()
unembed = model.lm_head.weight
directions = unembed[answers[:, 0]] - unembed[answers[:, 1]]
centred = final - final.mean(-1, keepdim=True)
scale = (centred.pow(2).mean(-1, keepdim=True) + model.transformer.ln_f.eps).sqrt()  # [prompt, 1]
dla, activation, norms = [], [], []
for layer in range(n_layers):
    w_out = model.transformer.h[layer].mlp.c_proj.weight  # [d_mlp, d_model]
    read_out = directions @ (w_out - w_out.mean(-1, keepdim=True)).T  # [prompt, d_mlp]
    dla.append((posts[layer] * read_out / scale).mean(0))
    activation.append(posts[layer].abs().mean(0))
    norms.append(w_out.norm(dim=-1))
dla, activation, norms = torch.stack(dla), torch.stack(activation), torch.stack(norms)
grid("neurons.dla", ["layer", "neuron"], dla)
score = (activation * norms).flatten()
top = sorted(range(len(score)), key=lambda i: (-score[i].item(), i))[:TOP]
rows = [[score[i], dla.flatten()[i], activation.flatten()[i], norms.flatten()[i]] for i in top]
grid("neurons.top", ["rank", "quantity"], torch.tensor(rows))
