

def load_sae(folder):
    """The SAE as SAELens loads it (both of its cfg.json layouts), and the hook it reads
    (pip install sae-lens==6.54.12, which ci/interop ran with TransformerLens 3.9)."""
    from sae_lens import SAE
    sae = SAE.load_from_disk(str(folder), device="cpu")
    return sae, sae.cfg.metadata.hook_name


def input_scale(sae, x):
    """What SAELens scales the SAE's input by: sqrt(d_in) / |x| with constant_norm_rescale, else 1."""
    if sae.cfg.normalize_activations == "constant_norm_rescale":
        return (x.shape[-1] ** 0.5) / x.norm(dim=-1, keepdim=True)
    return torch.ones_like(x[..., :1])
