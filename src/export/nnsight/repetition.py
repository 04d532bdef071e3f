
# Repetition self-reinforcement (DITTO): the sentence's tokens REPEATS times; each token's
# probability given everything before it, TP_n (the mean over copy n) and IP_n (the share of
# copy n's tokens more probable than in the first copy).
sentence = to_ids(SENTENCE, False)
ids = [model.tokenizer.bos_token_id] * bos + sentence * REPEATS
loss = next_token_loss(ids)  # of ids[1:]
probs = torch.cat([torch.full((1 - bos,), float("nan")), (-loss).exp()]).reshape(REPEATS, len(sentence))
grid("repeat.token_prob", ["copy", "token"], probs)
grid("repeat.tp", ["copy"], probs.nanmean(-1))
known = probs.isfinite() & probs[0].isfinite()
grid("repeat.ip", ["copy"], ((probs > probs[0]) & known).sum(-1) / known.sum(-1))
