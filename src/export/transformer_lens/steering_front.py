
# Activation addition as Turner et al. add it: both prompts right-padded with " " tokens to one
# length, their activations' difference position by position, times COEFF, added at the
# prompt's first positions (a full forward pass each step, so always at the prompt's tokens).
positive, negative = to_ids(POSITIVE_PROMPT, bos), to_ids(NEGATIVE_PROMPT, bos)
SPACE = model.to_single_token(" ")
length = max(len(positive), len(negative))
positive, negative = [ids + [SPACE] * (length - len(ids)) for ids in (positive, negative)]
_, positive_cache = model.run_with_cache(torch.tensor([positive]), names_filter=HOOK)
_, negative_cache = model.run_with_cache(torch.tensor([negative]), names_filter=HOOK)
vector = positive_cache[HOOK][0] - negative_cache[HOOK][0]
grid("steer.vector", ["pos", "d_model"], vector)
prompt_ids = to_ids(STEERED_PROMPT, bos)
if len(prompt_ids) < length:
    sys.exit(f"the steering prompts are {length} tokens after padding, the prompt only {len(prompt_ids)}")


def steer(activation, hook):
    activation[:, :length] += COEFF * vector
    return activation


for name, hooks in [("unsteered", []), ("steered", [(HOOK, steer)])]:
    results["generations"][name] = {"prompt": prompt_ids, "generation": generate(prompt_ids, hooks)}
