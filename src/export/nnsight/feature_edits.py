HOOKED.add(SAE_HOOK)
interventions_alone = apply_all


def apply_all(name, x):
    """The feature edits at the SAE's hook, then the interventions at `name`."""
    if name == SAE_HOOK:
        x = edit_features(x)
    return interventions_alone(name, x)
