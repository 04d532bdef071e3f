

def mlp_post(stream):
    """Every layer's blocks.L.mlp.hook_post over the stream, [T, neurons] in float64 (the BOS
    position, when there is one, dropped)."""
    ids = ([model.tokenizer.bos_token_id] if bos else []) + list(stream)
    _, cache = model.run_with_cache(torch.tensor([ids]), names_filter=lambda name: name.endswith("mlp.hook_post"))
    return [cache[f"blocks.{layer}.mlp.hook_post"][0, len(ids) - len(stream):].double()
            for layer in range(model.cfg.n_layers)]
