

def splitmix64(seed):
    """Patchbay's random stream (its SplitMix64): the same seed, the same partitions."""
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) % 2**64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
        yield z ^ (z >> 31)


def word_position(word):
    """The sentence of `word` and the position of its last token (the template's start, then
    the word's own tokens)."""
    before = TEMPLATE.split("{}")[0]
    prefix = to_ids(before, bos) if before or bos else []
    ids = to_ids(TEMPLATE.replace("{}", word, 1), bos)
    own = to_ids(word, False)
    assert ids[len(prefix):len(prefix) + len(own)] == own, f"{word!r} is tokenised otherwise in the template"
    return ids, len(prefix) + len(own) - 1


# WEAT (Caliskan et al. 2017): s(w) = mean cosine with A - mean cosine with B for every target;
# the effect size in standard deviations (ddof 1) and the one-sided permutation p-value over the
# partitions of the targets into sets of X's and Y's sizes (all of them up to 12870, else a
# seeded sample of 100000 that starts with the observed one).
X_vectors, Y_vectors, A_vectors, B_vectors = ([word_vector(w) for w in words] for words in (X, Y, A, B))


def association(w):
    cos = torch.nn.functional.cosine_similarity
    return (torch.stack([cos(w, a, dim=0) for a in A_vectors]).mean()
            - torch.stack([cos(w, b, dim=0) for b in B_vectors]).mean()).item()


s = [association(w) for w in X_vectors + Y_vectors]
n, x = len(s), len(X)
effect_size = (sum(s[:x]) / x - sum(s[x:]) / (n - x)) / float(torch.tensor(s, dtype=torch.float64).std())
total = sum(s)
observed = 2 * sum(s[:x]) - total
if math.comb(n, x) <= 12870:
    sums = [sum(s[i] for i in chosen) for chosen in itertools.combinations(range(n), x)]
else:
    stream, order, sums = splitmix64(SEED), list(range(n)), [sum(s[:x])]
    for _ in range(100000 - 1):
        for i in range(x):
            j = i + next(stream) % (n - i)
            order[i], order[j] = order[j], order[i]
        sums.append(sum(s[i] for i in order[:x]))
p_value = sum(2 * v - total >= observed - 1e-12 for v in sums) / len(sums)
grid("weat.s", ["word"], torch.tensor(s))
results["metrics"].update({"weat.effect_size": effect_size, "weat.p_value": p_value, "weat.partitions": len(sums)})
