
# Activation addition (Turner et al.): the difference of the site's activations on the two
# prompts at their last position, times COEFF, added at every position while generating.
positive, negative = to_ids(POSITIVE_PROMPT, bos), to_ids(NEGATIVE_PROMPT, bos)
with model.trace(torch.tensor([positive]), **TRACE):
    positive_act = SITES[SITE](model.transformer.h[LAYER]).save()
with model.trace(torch.tensor([negative]), **TRACE):
    negative_act = SITES[SITE](model.transformer.h[LAYER]).save()
vector = positive_act[0, -1] - negative_act[0, -1]
grid("steer.vector", ["d_model"], vector)
