

def generate_beams(prompt_ids):
    """Beam search by transformers' generate() through nnsight (its processors run on
    log-probabilities, as Patchbay's beams do)."""
    with model.generate(torch.tensor([prompt_ids]), **BEAM_SEARCH, **TRACE) as tracer:
        out = tracer.result.save()
    return beams_found(out, len(prompt_ids))
