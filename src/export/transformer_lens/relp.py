
# RelP (Jafari, Eberle, Khakzar and Nanda 2025): the metric's backward pass follows LRP rules;
# every forward value stays as it was. The rules are forward hooks, added before any other.
def relp_hooks(rules):
    hooks = []
    if "ln" in rules:
        # LN-rule: each LayerNorm divides by its scale as by a constant.
        hooks.append((lambda name: name.endswith("hook_scale"), lambda scale, hook: scale.detach()))
    if "identity" in rules:
        # Identity-rule: GELU passes the signal as the identity times GELU(x) / x.
        pre = {}

        def keep_pre(x, hook):
            pre[hook.layer()] = x

        def identity(post, hook):
            x = pre.pop(hook.layer())
            s = x + ((x == 0).to(x) + x.sign()) * 1e-6
            return s * (post / s).detach()

        hooks += [(lambda name: name.endswith("mlp.hook_pre"), keep_pre),
                  (lambda name: name.endswith("mlp.hook_post"), identity)]
    if "attention" in rules:
        # AH-rule: the attention pattern is a constant. The scores the softmax reads are
        # detached (the signal reaches q and k only through them), and the pattern they give
        # made a leaf of its own, so that its gradient can still be read at hook_pattern.
        hooks += [(lambda name: name.endswith("attn.hook_attn_scores"), lambda scores, hook: scores.detach()),
                  (lambda name: name.endswith("attn.hook_pattern"), lambda pattern, hook: pattern.requires_grad_())]
    return hooks
