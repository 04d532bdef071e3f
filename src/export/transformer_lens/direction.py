
# A direction from texts: each text's activation at HOOK, averaged over its tokens; the first
# principal component of the centred vectors (pointing so that the first text projects
# positive), or the first half's mean minus the second half's, unit length; every centred
# vector projected onto it.
vectors = []
for text in TEXTS:
    _, cache = model.run_with_cache(torch.tensor([to_ids(text, bos)]), names_filter=HOOK)
    vectors.append(cache[HOOK][0].double().mean(0))
