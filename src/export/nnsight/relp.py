
# RelP (Jafari, Eberle, Khakzar and Nanda 2025): the metric's backward pass follows LRP rules;
# every forward value stays as it was. Inside a trace each rule replaces a module's output with
# the same values, computed so that the backward pass follows the rule; like every access in a
# trace, they are made in the order the model runs the modules.
def relp_layer_norm(norm, x=None):
    """LN-rule: the LayerNorm divides by its scale as by a constant (x: its input, if read already)."""
    x = norm.input if x is None else x
    centred = x - x.mean(-1, keepdim=True)
    scale = (centred.pow(2).mean(-1, keepdim=True) + norm.eps).sqrt()
    norm.output = centred / scale.detach() * norm.weight + norm.bias


def relp_identity(mlp):
    """Identity-rule: GELU passes the signal as the identity times GELU(x) / x."""
    x = mlp.act.input
    s = x + ((x == 0).to(x) + x.sign()) * 1e-6
    mlp.act.output = s * (mlp.act.output / s).detach()


def relp_attention(attn, qkv):
    """AH-rule: the attention pattern is a constant. transformers' GPT-2 has no module for the
    pattern, so attn.c_proj's input, z = pattern @ v, is replaced by the same product with the
    pattern (from attn.c_attn's output qkv) detached. Returns the new z [prompt, pos, d_model]."""
    v = split_heads(qkv[..., 2 * n_heads * d_head:])
    z = (pattern(qkv).detach() @ v).transpose(1, 2)
    z = z.reshape(z.shape[0], z.shape[1], n_heads * d_head)
    attn.c_proj.input = z
    return z


def layer_norm_backward(norm, x, g, ln_rule=False):
    """The gradient at a LayerNorm's input x, given the gradient g at its output (with the
    LN-rule: the scale a constant)."""
    centred = x - x.mean(-1, keepdim=True)
    scale = (centred.pow(2).mean(-1, keepdim=True) + norm.eps).sqrt()
    normalized = centred / scale
    g = g * norm.weight
    g = g - g.mean(-1, keepdim=True)
    if not ln_rule:
        g = g - normalized * (g * normalized).mean(-1, keepdim=True)
    return g / scale
