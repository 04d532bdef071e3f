
# SAE features at the SAE's hook: the activation from run_with_cache, encoded by the SAE.
sae, HOOK = load_sae(sae_folder(SAE_ID))
ids = to_ids(PROMPT, bos)
_, cache = model.run_with_cache(torch.tensor([ids]), names_filter=HOOK)
sae_features(cache[HOOK][0], sae, model.W_U)
