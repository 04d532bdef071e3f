
# The interventions, active at every step: each acts on the entries its batch rows, positions,
# heads and last-axis indices select (all where unset), as Patchbay's do.
HEAD_AXIS = {"hook_q": 2, "hook_k": 2, "hook_v": 2, "hook_z": 2, "hook_attn_scores": 1, "hook_pattern": 1}


def intervened(intervention, x):
    """x with the intervention done to the entries it selects; x is the hook's activation, in
    TransformerLens's shape."""
    action = intervention["action"]
    kind = action if isinstance(action, str) else next(iter(action))

    def values():
        v = action[kind]["values"]
        return torch.tensor(v["data"], dtype=x.dtype).reshape(v["shape"])

    short = intervention["hook"].split(".")[-1]
    pos_axis = 2 if short in ("hook_attn_scores", "hook_pattern") else 1
    if kind == "zero":
        new = torch.zeros_like(x)
    elif kind == "scale":
        new = x * action[kind]["factor"]
    elif kind == "add":
        new = x + values()
    elif kind == "replace":
        new = values().expand_as(x)
    elif kind == "mean":
        new = x.mean(0, keepdim=True).mean(pos_axis, keepdim=True).expand_as(x)
    elif kind == "add_front":
        front = values()[: x.shape[1]]
        new = x.clone()
        new[:, : front.shape[0]] += front
    mask = torch.ones(x.shape, dtype=torch.bool)
    for axis, selected in [(0, intervention.get("batch")), (pos_axis, intervention.get("positions")),
                           (HEAD_AXIS.get(short), intervention.get("heads")), (x.dim() - 1, intervention.get("neurons"))]:
        if selected is not None and axis is not None:
            along = torch.zeros(x.shape[axis], dtype=torch.bool)
            along[selected] = True
            shape = [1] * x.dim()
            shape[axis] = -1
            mask = mask & along.reshape(shape)
    return torch.where(mask, new, x)
