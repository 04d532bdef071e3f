

def sae_folder(sae_id):
    """The SAE's folder (cfg.json, sae_weights.safetensors): --model-for ID=DIR, a local folder,
    or a folder of a hub repository (owner/repo/folder)."""
    from pathlib import Path
    if sae_id in MODEL_FOR:
        return Path(MODEL_FOR[sae_id])
    if Path(sae_id).is_dir():
        return Path(sae_id)
    from huggingface_hub import snapshot_download
    owner, repo, *inside = sae_id.split("/")
    folder = "/".join(inside)
    root = snapshot_download(f"{owner}/{repo}", allow_patterns=[f"{folder}/*"] if folder else None)
    return Path(root) / folder
