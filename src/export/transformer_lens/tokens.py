

def to_token(token):
    return token if isinstance(token, int) else model.to_single_token(token)


clean_tokens = to_tokens(CLEAN)
corrupted_tokens = to_tokens(CORRUPTED) if CORRUPTED else None
answers = torch.tensor([[to_token(c), to_token(i)] for c, i in ANSWERS])
