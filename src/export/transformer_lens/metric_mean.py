

def metric(logits):
    """The metric over the batch: its mean (what TransformerLens's patching functions record)."""
    return metric_per_prompt(logits).mean()
