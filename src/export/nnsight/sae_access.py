
# The SAE's hook in transformers' GPT-2 (its site, `SITES`): its activation and the metric, the
# metric's gradient there on the corrupted run, and the corrupted run with a change added at
# one position.
sae, SAE_HOOK = load_sae(sae_folder(SAE_ID))
sae_layer, sae_site = SAE_HOOK.removeprefix("blocks.").split(".", 1)
sae_layer = int(sae_layer)


def at_sae_hook(tokens):
    with model.trace(tokens, **TRACE):
        x = SITES[sae_site](model.transformer.h[sae_layer]).save()
        value = metric_per_prompt(model.lm_head.output).mean().save()
    return value.item(), x.detach()


def gradient_at_sae_hook(rules):
    """[prompt, pos, d_in]; zero where RelP's rules cut the metric off."""
    _, _, gradients = forward_backward(corrupted_tokens, {sae_site}, rules)
    gradient = gradients.get((sae_site, sae_layer))
    return torch.zeros_like(x_corrupted) if gradient is None else gradient.detach()


def metric_with_added(delta, pos):
    """Each prompt's metric on the corrupted run with delta[:, pos] ([prompt, pos, d_in]) added
    there (`pos`: a position, or slice(None) for every one)."""
    with model.trace(corrupted_tokens, **TRACE):
        SITES[sae_site](model.transformer.h[sae_layer])[:, pos] += delta[:, pos]
        value = metric_per_prompt(model.lm_head.output).save()
    return value.detach()
