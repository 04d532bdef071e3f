

def to_token(token):
    if isinstance(token, int):
        return token
    ids = model.tokenizer(token)["input_ids"]
    if len(ids) != 1:
        sys.exit(f"the answer {token!r} is {len(ids)} tokens, not one")
    return ids[0]


clean_tokens = to_tokens(CLEAN)
corrupted_tokens = to_tokens(CORRUPTED) if CORRUPTED else None
answers = torch.tensor([[to_token(c), to_token(i)] for c, i in ANSWERS])
n_prompts, n_pos = clean_tokens.shape


def run(tokens, site=None, layer=None, index=None, value=None):
    """The metric of each prompt, with `value` written into `index` of a block's `site`."""
    with model.trace(tokens, **TRACE):
        if site is not None:
            SITES[site](model.transformer.h[layer])[index] = value
        per_prompt = metric_per_prompt(model.lm_head.output).save()
    return per_prompt


def activations(tokens, site):
    """`site` of every block on `tokens`."""
    saved = []
    with model.trace(tokens, **TRACE):
        for layer in range(n_layers):
            saved.append(SITES[site](model.transformer.h[layer]).save())
    return [a.clone() for a in saved]
