

def intervention_hook(intervention):
    def hook(x, hook):
        new = intervened(intervention, x)
        # TransformerLens 4's hook_resid_mid is ln2's input: an edit it returns reaches the MLP
        # only; written in place it is the residual stream's too, as in TransformerLens 3.
        return x.copy_(new) if intervention["hook"].endswith("hook_resid_mid") else new

    return (intervention["hook"], hook)


hooks = [intervention_hook(intervention) for intervention in INTERVENTIONS]
