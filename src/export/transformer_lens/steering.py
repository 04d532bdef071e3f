
# Activation addition: the vector, times COEFF, added at every position while generating.


def steer(activation, hook):
    return activation + COEFF * vector


prompt_ids = to_ids(STEERED_PROMPT, bos)
for name, hooks in [("unsteered", []), ("steered", [(HOOK, steer)])]:
    results["generations"][name] = {"prompt": prompt_ids, "generation": generate(prompt_ids, hooks)}
