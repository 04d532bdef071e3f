

def forward(tokens, steer):
    with model.trace(tokens, **TRACE):
        if steer is not None:
            steer()
        logits = model.lm_head.output.save()
    return logits
