

def generate_beams(prompt_ids):
    """Beam search by transformers' generate() on the same weights (its processors run on
    log-probabilities, as Patchbay's beams do)."""
    hf = GPT2LMHeadModel.from_pretrained(MODEL_SOURCE, attn_implementation="eager").eval()
    out = hf.generate(torch.tensor([prompt_ids]), **BEAM_SEARCH)
    return beams_found(out, len(prompt_ids))
