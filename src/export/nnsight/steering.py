
# Activation addition: the vector, times COEFF, added at every position while generating.


def steer():
    SITES[SITE](model.transformer.h[LAYER])[:] += COEFF * vector


prompt_ids = to_ids(STEERED_PROMPT, bos)
for name, steering in [("unsteered", None), ("steered", steer)]:
    results["generations"][name] = {"prompt": prompt_ids, "generation": generate(prompt_ids, steering)}
