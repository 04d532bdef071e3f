

def sae_features(x, sae, W_U):
    """The grids and metrics of `sae_features` from the hook's activation x [pos, d_in]."""
    acts = sae.encode(x)
    recon = sae.decode(acts)
    order = torch.sort(-acts, dim=-1, stable=True).indices[:, :TOP]  # ties by lower id
    grid("sae.top_features", ["pos", "rank"], order.float())
    grid("sae.top_activations", ["pos", "rank"], acts.gather(1, order))
    error = (x - recon).pow(2).sum(-1)
    grid("sae.error_norm", ["pos"], error.sqrt())
    grid("sae.active", ["pos"], (acts > 0).sum(-1).float())
    results["metrics"]["sae.fve"] = (1 - error.sum() / (x - x.mean(0)).pow(2).sum()).item()
    results["metrics"]["sae.l0"] = (acts > 0).sum(-1).float().mean().item()
    if FEATURE is not None:
        grid("sae.feature", ["pos"], acts[:, FEATURE])
        logits = sae.W_dec[FEATURE] @ W_U
        up = torch.sort(-logits, stable=True).indices[:10]
        down = torch.sort(logits, stable=True).indices[:10]
        grid("sae.feature_logits", ["token"], logits[torch.cat([up, down])])
