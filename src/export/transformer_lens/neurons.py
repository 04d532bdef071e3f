
# Direct logit attribution of every MLP neuron at the last position: its activation times its
# row of W_out, through apply_ln_to_stack (centred, divided by the final LayerNorm's cached
# scale), onto each prompt's logit-difference direction; the TOP neurons by
# mean |activation| x |W_out row|.
clean_logits, cache = model.run_with_cache(clean_tokens)
results["metrics"]["clean"] = metric_per_prompt(clean_logits).mean().item()
directions = model.tokens_to_residual_directions(answers)
directions = directions[:, 0] - directions[:, 1]
dla, activation, norms = [], [], []
for layer in range(model.cfg.n_layers):
    post = cache[f"blocks.{layer}.mlp.hook_post"][:, -1]  # [prompt, d_mlp]
    stack = post.T[:, :, None] * model.W_out[layer][:, None, :]  # [d_mlp, prompt, d_model]
    scaled = cache.apply_ln_to_stack(stack, layer=-1, pos_slice=-1)
    dla.append((scaled * directions).sum(-1).mean(-1))
    activation.append(post.abs().mean(0))
    norms.append(model.W_out[layer].norm(dim=-1))
dla, activation, norms = torch.stack(dla), torch.stack(activation), torch.stack(norms)
grid("neurons.dla", ["layer", "neuron"], dla)
score = (activation * norms).flatten()
top = sorted(range(len(score)), key=lambda i: (-score[i].item(), i))[:TOP]
rows = [[score[i], dla.flatten()[i], activation.flatten()[i], norms.flatten()[i]] for i in top]
grid("neurons.top", ["rank", "quantity"], torch.tensor(rows))
