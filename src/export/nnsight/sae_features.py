
# SAE features at the SAE's hook: the activation saved from its site in transformers' GPT-2,
# encoded by the SAE.
sae, HOOK = load_sae(sae_folder(SAE_ID))
layer, site = HOOK.removeprefix("blocks.").split(".", 1)
ids = to_ids(PROMPT, bos)
with model.trace(torch.tensor([ids]), **TRACE):
    x = SITES[site](model.transformer.h[int(layer)]).save()
sae_features(x[0], sae, model.lm_head.weight.T)
