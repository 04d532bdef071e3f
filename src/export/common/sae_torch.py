

class Sae:
    """An SAE in SAELens's format, in plain torch (SAELens does not support this library's
    version): encode and decode as SAELens 6 does for standard, JumpReLU and top-k SAEs."""

    def __init__(self, folder):
        from pathlib import Path

        from safetensors.torch import load_file
        cfg = json.loads((Path(folder) / "cfg.json").read_text())
        weights = load_file(str(Path(folder) / "sae_weights.safetensors"))
        self.W_enc, self.b_enc, self.W_dec, self.b_dec = (weights[k].float() for k in ("W_enc", "b_enc", "W_dec", "b_dec"))
        self.threshold = weights["threshold"].float() if "threshold" in weights else None
        self.hook_name = (cfg.get("metadata") or {}).get("hook_name") or cfg.get("hook_name") or cfg.get("hook_point")
        activation = str(cfg.get("activation_fn_str") or cfg.get("activation_fn") or "")
        self.architecture = cfg.get("architecture") or ("topk" if "topk" in activation else "standard")
        self.k = cfg.get("k") or (cfg.get("activation_fn_kwargs") or {}).get("k")
        self.apply_b_dec_to_input = cfg.get("apply_b_dec_to_input", True) is not False
        self.rescale = cfg.get("normalize_activations", "none") == "constant_norm_rescale"
        self.scale = None

    def encode(self, x):
        self.scale = (x.shape[-1] ** 0.5) / x.norm(dim=-1, keepdim=True) if self.rescale else torch.ones_like(x[..., :1])
        sae_in = x * self.scale - self.b_dec * self.apply_b_dec_to_input
        pre = sae_in @ self.W_enc + self.b_enc
        if self.architecture == "jumprelu":
            return pre.relu() * (pre > self.threshold)
        if self.architecture == "topk":
            top = pre.topk(self.k, dim=-1)
            return torch.zeros_like(pre).scatter(-1, top.indices, top.values.relu())
        return pre.relu()

    def decode(self, acts):
        return (acts @ self.W_dec + self.b_dec) / self.scale


def load_sae(folder):
    sae = Sae(folder)
    return sae, sae.hook_name


def input_scale(sae, x):
    """What the SAE scales its input by: sqrt(d_in) / |x| with constant_norm_rescale, else 1."""
    return (x.shape[-1] ** 0.5) / x.norm(dim=-1, keepdim=True) if sae.rescale else torch.ones_like(x[..., :1])
