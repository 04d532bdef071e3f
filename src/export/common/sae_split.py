
# An SAE's features as patching targets at its hook: on both runs the activation splits into
# the features and the error term, err = x - decode(encode(x)) (s: the SAE's input scale).
sae_clean_value, x_clean = at_sae_hook(clean_tokens)
sae_corrupted_value, x_corrupted = at_sae_hook(corrupted_tokens)
batch, n_pos, d_in = x_clean.shape
xc, xk = x_clean.reshape(-1, d_in), x_corrupted.reshape(-1, d_in)
acts_c, scale_c = sae.encode(xc).detach(), input_scale(sae, xc)
acts_k, scale_k = sae.encode(xk).detach(), input_scale(sae, xk)
error_c = (xc - sae.decode(sae.encode(xc))).detach()
error_k = (xk - sae.decode(sae.encode(xk))).detach()
# The features named, or those whose activations change most (ties by lower id).
FEATURES = FEATURE_IDS or torch.sort(-(acts_c - acts_k).abs().sum(0), stable=True).indices[:FEATURE_TOP].tolist()
grid("sae_patch.ids", ["feature"], torch.tensor(FEATURES).float())
