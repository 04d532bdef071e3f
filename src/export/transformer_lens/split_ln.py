

def split_input_rules(rules):
    """The bridge normalises each head's split q/k/v input with ln1's own LayerNorm module,
    outside ln1.hook_scale: there the LN-rule is a forward hook on that module, which gives the
    same value with the scale as a constant. Returns the hooks' handles."""
    if "ln" not in rules:
        return []

    def ln_rule(module, args, output):
        centred = args[0] - args[0].mean(-1, keepdim=True)
        scale = (centred.pow(2).mean(-1, keepdim=True) + module.eps).sqrt()
        return centred / scale.detach() * module.weight + module.bias

    return [block.ln1.original_component.register_forward_hook(ln_rule) for block in model.blocks]
