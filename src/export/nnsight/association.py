

def word_vector(word):
    """The site's activation at the word's last token inside the template (hook_embed: the
    token embedding's output)."""
    ids, last = word_position(word)
    with model.trace(torch.tensor([ids]), **TRACE):
        if SITE == "hook_embed":
            activation = model.transformer.wte.output.save()
        else:
            activation = SITES[SITE](model.transformer.h[LAYER]).save()
    activation = activation[0] if isinstance(activation, tuple) else activation
    return activation[0, last].double()
