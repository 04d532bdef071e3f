

def forward(tokens, fwd_hooks):
    return model.run_with_hooks(tokens, fwd_hooks=fwd_hooks)
