

def load_sae(folder):
    """The SAE as SAELens loads it (both of its cfg.json layouts), and the hook it reads
    (pip install sae-lens==6.54.12, which ci/interop ran with TransformerLens 3.9)."""
    from sae_lens import SAE
    sae = SAE.load_from_disk(str(folder), device="cpu")
    return sae, sae.cfg.metadata.hook_name
