if len(sys.argv) < 3:
    sys.exit(f"usage: python {sys.argv[0]} MODEL OUT.json [--model-for ID=DIR ...]   (MODEL: a hub id or a model folder)")
MODEL_SOURCE = sys.argv[1]
# --model-for ID=DIR: read another model the spec names (a GeDi model) from DIR.
MODEL_FOR = dict(value.partition("=")[::2] for option, value in zip(sys.argv[3:], sys.argv[4:])
                 if option == "--model-for")
model = load_model(MODEL_SOURCE)
results = {"grids": {}, "metrics": {}, "generations": {}}


def grid(name, axes, values):
    """A result grid as `patchbay run` writes it: its axes, shape and row-major values."""
    values = values.detach().float().cpu()
    results["grids"][name] = {"axes": axes, "shape": list(values.shape), "values": values.flatten().tolist()}


def to_ids(prompt, prepend_bos):
    """Text is tokenized (after <|endoftext|> when prepend_bos); token ids are taken as they are."""
    if isinstance(prompt, str):
        return model.to_tokens(prompt, prepend_bos=prepend_bos)[0].tolist()
    return list(prompt)
