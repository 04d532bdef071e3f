

def next_token_loss(ids):
    """-log p of each next token of one sequence."""
    with model.trace(torch.tensor([ids]), **TRACE):
        logits = model.lm_head.output.save()
    log_probs = logits[0, :-1].float().log_softmax(-1)
    return -log_probs.gather(-1, torch.tensor(ids[1:])[:, None])[:, 0]
