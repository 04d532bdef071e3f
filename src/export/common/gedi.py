

def model_source(model_id):
    """Where a model the spec names is read: its --model-for folder, this run's MODEL when it is
    the spec's own model, else the hub."""
    return MODEL_FOR.get(model_id) or (MODEL_SOURCE if model_id == SPEC_MODEL else model_id)


def load_gedi(source):
    """The GeDi model as transformers' GPT-2, its two control codes (the first token of each
    code's text) and its class head: `logit_scale` and `bias` from its weights where it has
    them (the authors' checkpoints), else 1 and 0 (a plain GPT-2 as a zero-shot discriminator)."""
    from pathlib import Path

    from huggingface_hub import hf_hub_download
    from safetensors.torch import load_file
    from transformers import AutoTokenizer, GPT2LMHeadModel
    gedi = GPT2LMHeadModel.from_pretrained(source, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(source)
    codes = [tokenizer(text)["input_ids"][0] for text in (GEDI["desired"], GEDI["undesired"])]
    path = Path(source) / "model.safetensors"
    weights = load_file(str(path if path.is_file() else hf_hub_download(source, "model.safetensors")))
    scale = float(weights["logit_scale"].reshape(-1)[0]) if "logit_scale" in weights else 1.0
    bias = weights["bias"].reshape(-1).double() if "bias" in weights else torch.zeros(2, dtype=torch.float64)
    return gedi, codes, scale, bias


if GEDI is not None:
    gedi_model, GEDI_CODES, GEDI_SCALE, GEDI_BIAS = load_gedi(model_source(GEDI["model"]))


def guide(sequence, logits):
    """GeDi (Krause et al. 2020): the GeDi model reads the sequence after each control code;
    each candidate's length-normalised log-likelihood under both, through the class head and
    Bayes' rule, is its log P(desired), which reweights the base model's log-probabilities;
    then the filter removes what is neither in the top filter_p mass nor desired enough."""
    lp_base = torch.log_softmax(logits.double(), -1)
    ids = torch.tensor([[code] + sequence for code in GEDI_CODES])
    lp = torch.log_softmax(gedi_model(ids).logits.double(), -1)  # [2, t, vocab]
    past = lp[:, :-1].gather(2, ids[:, 1:, None])[..., 0].sum(1)  # log P(x_i | code, x_<i)
    k = ((lp[:, -1] + past[:, None]) / (len(sequence) + 1) * GEDI_SCALE + GEDI_BIAS[:, None]).T
    k[:, 0] += f32(GEDI["class_bias"])
    lp_desired = torch.log_softmax(k, -1)[:, 0]
    g = lp_base + f32(GEDI["disc_weight"]) * lp_desired
    if GEDI["filter_p"] > 0:
        order = torch.argsort(lp_desired, stable=True)
        cum = torch.cumsum(torch.softmax(g, -1)[order], 0)
        removed = order[(cum < f32(GEDI["filter_p"])) & (lp_desired[order] < math.log(f32(GEDI["target_p"])))]
        g[removed] -= 10000
    else:
        removed = []
    return g.float(), {"lp_desired": lp_desired, "removed": len(removed)}
