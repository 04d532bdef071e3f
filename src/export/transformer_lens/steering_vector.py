
# Activation addition (Turner et al.): the difference of the hook's activations on the two
# prompts at their last position, times COEFF, added at every position while generating.
positive, negative = to_ids(POSITIVE_PROMPT, bos), to_ids(NEGATIVE_PROMPT, bos)
_, positive_cache = model.run_with_cache(torch.tensor([positive]), names_filter=HOOK)
_, negative_cache = model.run_with_cache(torch.tensor([negative]), names_filter=HOOK)
vector = positive_cache[HOOK][0, -1] - negative_cache[HOOK][0, -1]
grid("steer.vector", ["d_model"], vector)
