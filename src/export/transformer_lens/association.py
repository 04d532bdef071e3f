

def word_vector(word):
    """HOOK's activation at the word's last token inside the template."""
    ids, last = word_position(word)
    _, cache = model.run_with_cache(torch.tensor([ids]), names_filter=HOOK)
    return cache[HOOK][0, last].double()
