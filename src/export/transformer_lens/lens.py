
# The logit lens and direct logit attribution onto each prompt's logit-difference direction,
# with ActivationCache's methods, at the last position. Two LayerNorm conventions: "cached"
# divides by the final LayerNorm's scale from the run (apply_ln_to_stack), "recomputed" applies
# ln_final to each partial stream.
clean_logits, cache = model.run_with_cache(clean_tokens)
results["metrics"]["clean"] = metric_per_prompt(clean_logits).mean().item()
directions = model.tokens_to_residual_directions(answers)
directions = directions[:, 0] - directions[:, 1]
grid("lens.logit_diff_directions", ["prompt", "d_model"], directions)


def lens(name, stack):
    grid(f"lens.{name}", ["component", "prompt", "d_model"], stack)
    per_prompt = (stack * directions).sum(-1)
    grid(f"lens.{name}_logit_diff_per_prompt", ["component", "prompt"], per_prompt)
    grid(f"lens.{name}_logit_diff", ["component"], per_prompt.mean(-1))


raw = cache.accumulated_resid(layer=-1, incl_mid=True, apply_ln=False, pos_slice=-1)
lens("accumulated_resid_raw", raw)
lens("accumulated_resid_ln_recomputed", cache.accumulated_resid(layer=-1, incl_mid=True, apply_ln=True, pos_slice=-1))
lens("accumulated_resid_ln_cached", cache.apply_ln_to_stack(raw, layer=-1, pos_slice=-1))
lens("decompose_resid", cache.decompose_resid(layer=-1, mode="all", apply_ln=True, pos_slice=-1))
heads = cache.stack_head_results(layer=-1, pos_slice=-1, apply_ln=True)
grid("lens.head_results", ["component", "prompt", "d_model"], heads)
per_head = (heads * directions).sum(-1).reshape(model.cfg.n_layers, model.cfg.n_heads, len(CLEAN))
grid("lens.head_dla_logit_diff_per_prompt", ["layer", "head", "prompt"], per_head)
grid("lens.head_dla_logit_diff", ["layer", "head"], per_head.mean(-1))
