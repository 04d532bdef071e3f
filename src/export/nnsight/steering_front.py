
# Activation addition as Turner et al. add it: both prompts right-padded with " " tokens to one
# length, their activations' difference position by position, times COEFF, added at the
# prompt's first positions (a full forward pass each step, so always at the prompt's tokens).
positive, negative = to_ids(POSITIVE_PROMPT, bos), to_ids(NEGATIVE_PROMPT, bos)
SPACE = model.tokenizer(" ")["input_ids"][0]
length = max(len(positive), len(negative))
positive, negative = [ids + [SPACE] * (length - len(ids)) for ids in (positive, negative)]
with model.trace(torch.tensor([positive]), **TRACE):
    positive_act = SITES[SITE](model.transformer.h[LAYER]).save()
with model.trace(torch.tensor([negative]), **TRACE):
    negative_act = SITES[SITE](model.transformer.h[LAYER]).save()
vector = positive_act[0] - negative_act[0]
grid("steer.vector", ["pos", "d_model"], vector)
prompt_ids = to_ids(STEERED_PROMPT, bos)
if len(prompt_ids) < length:
    sys.exit(f"the steering prompts are {length} tokens after padding, the prompt only {len(prompt_ids)}")


def steer():
    SITES[SITE](model.transformer.h[LAYER])[:, :length] += COEFF * vector


for name, steering in [("unsteered", None), ("steered", steer)]:
    results["generations"][name] = {"prompt": prompt_ids, "generation": generate(prompt_ids, steering)}
