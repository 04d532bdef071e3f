

def mlp_post(stream):
    """Every block's mlp.act output (TransformerLens's mlp.hook_post) over the stream, [T, neurons]
    in float64 (the BOS position, when there is one, dropped)."""
    ids = ([model.tokenizer.bos_token_id] if bos else []) + list(stream)
    acts = []
    with model.trace(torch.tensor([ids]), **TRACE):
        for block in model.transformer.h:
            acts.append(block.mlp.act.output.save())
    return [a[0, len(ids) - len(stream):].double() for a in acts]
