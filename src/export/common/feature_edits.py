
# The SAE's features edited at every position of its hook, the error term kept (SAELens's
# use_error_term=True): x + decode(edited) - decode(acts); before the interventions there.
sae, SAE_HOOK = load_sae(sae_folder(SAE_ID))


def edit_features(x, hook=None):
    acts = sae.encode(x)
    edited = acts.clone()
    for edit in EDITS:
        action, feature = edit["action"], edit["feature"]
        kind = action if isinstance(action, str) else next(iter(action))
        if kind == "clamp":
            edited[..., feature] = action["clamp"]["value"]
        elif kind == "scale":
            edited[..., feature] *= action["scale"]["factor"]
        else:
            edited[..., feature] = 0
    return x + sae.decode(edited) - sae.decode(acts)

