
# A direction from texts: each text's activation at the site, averaged over its tokens; the
# first principal component of the centred vectors (pointing so that the first text projects
# positive), or the first half's mean minus the second half's, unit length; every centred
# vector projected onto it.
vectors = []
for text in TEXTS:
    with model.trace(torch.tensor([to_ids(text, bos)]), **TRACE):
        activation = SITES[SITE](model.transformer.h[LAYER]).save()
    activation = activation[0] if isinstance(activation, tuple) else activation
    vectors.append(activation[0].double().mean(0))
