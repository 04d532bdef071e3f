

# Frequency tagging (HFTP, An et al. 2025): per layer and MLP neuron, the amplitude spectrum of
# its mean-removed activation over the stream; SNR at the sentence bin (T/W) and the phrase bin
# (T/P) against up to two neighbours on each side; the share above THRESHOLD; the mean spectrum.
def snr(amplitude, k):
    neighbours = [j for j in (k - 2, k - 1, k + 1, k + 2) if 0 <= j < len(amplitude)]
    return amplitude[k] / amplitude[neighbours].mean(0)


def tagging(acts):
    """SNRs at both rates [layer, neuron], the tagged shares [layer, 2] and the mean spectrum."""
    T = len(acts[0])
    snr_s, snr_p, shares, spectrum = [], [], [], []
    for a in acts:  # [T, neurons] float64
        x = a - a.mean(0, keepdim=True)
        amplitude = torch.fft.rfft(x, dim=0).abs()
        s, p = snr(amplitude, T // WORDS_PER_SENTENCE), snr(amplitude, T // WORDS_PER_PHRASE)
        snr_s.append(s)
        snr_p.append(p)
        shares.append([(s > THRESHOLD).double().mean().item(), (p > THRESHOLD).double().mean().item()])
        spectrum.append(amplitude.mean(1) / (T / 2))
    return torch.stack(snr_s), torch.stack(snr_p), torch.tensor(shares), torch.stack(spectrum)


def ranked(snr, top):
    """The flat indices of the `top` largest SNRs (as float32, as `patchbay run` ranks them),
    ties to the earlier cell."""
    values = snr.float().flatten().tolist()
    order = sorted((i for i, v in enumerate(values) if math.isfinite(v)), key=lambda i: (-abs(values[i]), i))
    return order[:top]


def traces(acts, snrs):
    """The activation over the stream of the TRACED highest-SNR neurons of each rate (the
    sentence rate's first, each neuron once): [neuron, token]."""
    neurons = acts[0].shape[1]
    cells = []
    for snr in snrs:
        cells += [c for c in ranked(snr, TRACED) if c not in cells]
    return torch.stack([acts[c // neurons][:, c % neurons] for c in cells])


def shuffled(tokens, seed):
    """Fisher-Yates with Patchbay's SplitMix64 stream: the same seed, the same order."""
    tokens, state = list(tokens), seed
    for i in range(len(tokens) - 1, 0, -1):
        state = (state + 0x9E3779B97F4A7C15) % 2**64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % 2**64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % 2**64
        j = (z ^ (z >> 31)) % (i + 1)
        tokens[i], tokens[j] = tokens[j], tokens[i]
    return tokens


stream = []
for sentence in SENTENCES:
    ids = to_ids(sentence, False)
    assert len(ids) == WORDS_PER_SENTENCE, f"{sentence!r}: every word must be one token"
    stream += ids
acts = mlp_post(stream)
snr_s, snr_p, shares, spectrum = tagging(acts)
grid("hftp.snr_sentence", ["layer", "neuron"], snr_s)
grid("hftp.snr_phrase", ["layer", "neuron"], snr_p)
grid("hftp.tagged", ["layer", "rate"], shares)
grid("hftp.spectrum", ["layer", "frequency"], spectrum)
grid("hftp.traces", ["neuron", "token"], traces(acts, [snr_s, snr_p]))
if SHUFFLED_CONTROL:
    grid("hftp.tagged_shuffled", ["layer", "rate"], tagging(mlp_post(shuffled(stream, SEED)))[2])
