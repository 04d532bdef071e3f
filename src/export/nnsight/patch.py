
# Activation patching: run the corrupted prompts with one clean activation put back (a cell:
# a layer and a position and/or a head), score with the clean answers; one trace a cell.
def patch(name, site, axes):
    if site == "attn.hook_pattern":
        return patch_pattern(name, axes)
    clean = activations(clean_tokens, site)
    shape = [n_layers] + [n_pos if axis == "pos" else n_heads for axis in axes[1:]]
    per_prompt = torch.zeros(shape + [n_prompts])
    for cell in itertools.product(*map(range, shape)):
        at = dict(zip(axes, cell))
        index = (slice(None), at.get("pos", slice(None)))
        if "head" in at:
            index += (head_slice(site, at["head"]),)
        per_prompt[cell] = run(corrupted_tokens, site, at["layer"], index, clean[at["layer"]][index])
    return patched_grids(name, axes, per_prompt)


def patch_pattern(name, axes):
    """A head's pattern has no module in transformers' GPT-2, but z = pattern @ v does: the
    head's slice of attn.c_proj's input is rewritten with the clean pattern and the run's own v."""
    clean = [pattern(qkv) for qkv in activations(clean_tokens, "attn.hook_q")]
    shape = [n_layers] + [n_pos if axis == "pos" else n_heads for axis in axes[1:]]
    per_prompt = torch.zeros(shape + [n_prompts])
    for cell in itertools.product(*map(range, shape)):
        at = dict(zip(axes, cell))
        layer, head, rows = at["layer"], at["head"], head_slice("attn.hook_z", at["head"])
        queries = slice(None) if "pos" not in at else slice(at["pos"], at["pos"] + 1)
        with model.trace(corrupted_tokens, **TRACE):
            block = model.transformer.h[layer]
            v = block.attn.c_attn.output[:, :, head_slice("attn.hook_v", head)]
            block.attn.c_proj.input[:, queries, rows] = torch.matmul(clean[layer][:, head, queries], v)
            value = metric_per_prompt(model.lm_head.output).save()
        per_prompt[cell] = value
    return patched_grids(name, axes, per_prompt)


def patched_grids(name, axes, per_prompt):
    patched = per_prompt.mean(-1)
    grid(f"patch.{name}", axes, patched)
    grid(f"patch.{name}.normalised", axes, (patched - corrupted_value) / (clean_value - corrupted_value))
    grid(f"patch.{name}.per_prompt", axes + ["prompt"], per_prompt)
    return patched

