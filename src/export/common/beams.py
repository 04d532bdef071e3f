

def beams_found(out, prompt_len):
    """The best beam's new ids, and every returned beam with its score (the sum of its new
    tokens' log-probabilities over their number ** LENGTH_PENALTY)."""
    eos = BEAM_SEARCH["eos_token_id"]
    beams = []
    for ids, score in zip(out.sequences[:, prompt_len:].tolist(), out.sequences_scores.tolist()):
        if eos is not None and eos in ids:
            ids = ids[:ids.index(eos) + 1]
        beams.append({"new_ids": ids, "score": score})
    return {"new_ids": beams[0]["new_ids"], "beams": beams}
