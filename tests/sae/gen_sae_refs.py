"""SAE oracle (issue 31): random sparse autoencoders for the tiny GPT-2, written in SAELens's
own file format by SAELens, and what SAELens computes with them.

Usage: PY tests/sae/gen_sae_refs.py REFS_DIR OUT_DIR
  PY:       a Python with transformer-lens 3.9.0, transformers 5.24 and sae-lens 6.54.12
            (`ci/sae-refs` installs sae-lens into the interop venv and runs this).
  REFS_DIR: ../shared/refs (tiny-gpt2/ with its weights and tokenizer).
  OUT_DIR:  one folder per SAE, `cfg.json` + `sae_weights.safetensors` exactly as
            `SAE.save_model` writes them, and `sae.json` with what SAELens computed.

The SAEs (d_in 64 = the tiny model's width, d_sae 256, float32, weights from fixed seeds):
  standard  ReLU,          blocks.1.hook_resid_pre,  apply_b_dec_to_input true
  jumprelu  JumpReLU,      blocks.0.hook_resid_post, apply_b_dec_to_input true, threshold > 0
  topk      top-k (k = 8), blocks.1.hook_mlp_out,    apply_b_dec_to_input false
  legacy    the standard SAE's files with the config in the pre-6 layout of gpt2-small-res-jb
            (`hook_point` at the top level, no `metadata`, no `architecture`): SAELens loads it
            to the same numbers.

Semantics (SAELens 6.54, `SAE.encode` / `SAE.decode`, normalize_activations "none"):
  sae_in  = x - b_dec * apply_b_dec_to_input              x: the hook's activation [pos, d_in]
  pre     = sae_in @ W_enc + b_enc                         [pos, d_sae]
  acts    = relu(pre)                                      standard
          = relu(pre) * (pre > threshold)                  jumprelu
          = relu(pre) at each row's k largest pre, else 0  topk
  recon   = acts @ W_dec + b_dec                           [pos, d_in]
  error   = x - recon
Per SAE, for the IOI prompt "When John and Mary went to the shops, John gave the bag to" with
BOS (TransformerLens's default): `x`, `acts` and `recon` (sae.safetensors, `<name>.x` ...), each
position's error norm ||x - recon||, each position's 8 most active features (ids, values;
ties by lower id), and the fraction of variance explained over the prompt's positions:
  fve = 1 - sum_pos ||x - recon||^2 / sum_pos ||x - mean_pos(x)||^2.
Generation (TransformerLens's `generate`, greedy, without the KV cache (see main), "The quick
brown fox" without BOS, 10 new tokens) with the SAE spliced in by `HookedSAETransformer.add_sae(sae, use_error_term=True)`
(the model then computes recon(acts') + error, error from the unedited acts: the residual stream
changes only by what the edit changes in the reconstruction), and a hook on
`<hook>.hook_sae_acts_post` editing one feature at every position:
  none    no edit: the plain model's ids
  clamp   acts[f] = value
  scale   acts[f] *= factor
  ablate  acts[f] = 0

Patching and attribution over features (the IOI batch of tests/specs/sae-attribution-tiny.json:
8 clean prompts, each corrupted by swapping the second name, with BOS; metric: the mean over
prompts of the last position's logit difference, correct − wrong answer). Per SAE, the SAE
spliced in with `use_error_term=True` on both runs; `acts_c`, `err_c` the clean run's
`hook_sae_acts_post` and `hook_sae_error`, `acts_k`, `err_k` the corrupted run's:
  features     the PATCHED features with the largest sum over prompts and positions of
               |acts_c − acts_k| (ties by lower id)
  patch        [feature, pos]: the corrupted run with acts[:, pos, f] = acts_c[:, pos, f]
  patch_error  [pos]: the corrupted run with err[:, pos] = err_c[:, pos]
  attrib       [feature, pos]: sum over prompts of (acts_c − acts_k)[:, pos, f] times the
               metric's gradient at `hook_sae_acts_post` on the corrupted run
  attrib_error [pos]: sum over prompts and d of (err_c − err_k)[:, pos] times the gradient at
               `hook_sae_output` (the error is added to it; SAELens computes it without grad)
  clean, corrupted: the two runs' metrics
"""
import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

REFS = Path(sys.argv[1]).resolve()
OUT = Path(sys.argv[2]).resolve()
from sae_lens import (  # noqa: E402
    SAE,
    HookedSAETransformer,
    JumpReLUSAE,
    JumpReLUSAEConfig,
    StandardSAE,
    StandardSAEConfig,
    TopKSAE,
    TopKSAEConfig,
)
from sae_lens.saes.sae import SAEMetadata  # noqa: E402
from tokenizers import Tokenizer  # noqa: E402
from transformer_lens import HookedTransformerConfig  # noqa: E402
from transformer_lens.pretrained.weight_conversions.gpt2 import convert_gpt2_weights  # noqa: E402
from transformers import GPT2LMHeadModel  # noqa: E402

torch.set_grad_enabled(False)
D_IN, D_SAE, TOP = 64, 256, 8
PROMPT = "When John and Mary went to the shops, John gave the bag to"
GEN_TEXT, GEN_NEW = "The quick brown fox", 10
PATCHED = 6
IOI = [  # (clean, corrupted, correct answer, wrong answer)
    ("When John and Mary went to the shops, John gave the bag to", "When John and Mary went to the shops, Mary gave the bag to", " Mary", " John"),
    ("When John and Mary went to the shops, Mary gave the bag to", "When John and Mary went to the shops, John gave the bag to", " John", " Mary"),
    ("When Tom and James went to the park, James gave the ball to", "When Tom and James went to the park, Tom gave the ball to", " Tom", " James"),
    ("When Tom and James went to the park, Tom gave the ball to", "When Tom and James went to the park, James gave the ball to", " James", " Tom"),
    ("When Dan and Sid went to the shops, Sid gave an apple to", "When Dan and Sid went to the shops, Dan gave an apple to", " Dan", " Sid"),
    ("When Dan and Sid went to the shops, Dan gave an apple to", "When Dan and Sid went to the shops, Sid gave an apple to", " Sid", " Dan"),
    ("After Martin and Amy went to the park, Amy gave a drink to", "After Martin and Amy went to the park, Martin gave a drink to", " Martin", " Amy"),
    ("After Martin and Amy went to the park, Martin gave a drink to", "After Martin and Amy went to the park, Amy gave a drink to", " Amy", " Martin"),
]

SAES = [
    ("standard", StandardSAE, StandardSAEConfig, "blocks.1.hook_resid_pre", True, {}),
    ("jumprelu", JumpReLUSAE, JumpReLUSAEConfig, "blocks.0.hook_resid_post", True, {}),
    ("topk", TopKSAE, TopKSAEConfig, "blocks.1.hook_mlp_out", False, {"k": 8}),
]


def tl_config_for(hf_cfg):
    """TransformerLens's config for a Hugging Face GPT-2, as shared/refs/gen_refs.py builds it
    (its GPT2LMHeadModel branch, no weight processing)."""
    return HookedTransformerConfig(
        d_model=hf_cfg.n_embd, d_head=hf_cfg.n_embd // hf_cfg.n_head, n_heads=hf_cfg.n_head,
        d_mlp=hf_cfg.n_embd * 4, n_layers=hf_cfg.n_layer, n_ctx=hf_cfg.n_positions,
        eps=hf_cfg.layer_norm_epsilon, d_vocab=hf_cfg.vocab_size, d_vocab_out=hf_cfg.vocab_size,
        act_fn=hf_cfg.activation_function, use_attn_scale=True, use_local_attn=False,
        scale_attn_by_inverse_layer_idx=False, normalization_type="LN",
        positional_embedding_type="standard", original_architecture="GPT2LMHeadModel",
        default_prepend_bos=True, tokenizer_prepends_bos=False, init_weights=False,
        device="cpu", dtype=torch.float32)


def random_sae(seed, cls, cfg_cls, hook, apply_b_dec, extra):
    cfg = cfg_cls(d_in=D_IN, d_sae=D_SAE, apply_b_dec_to_input=apply_b_dec,
                  metadata=SAEMetadata(hook_name=hook, model_name="tiny-gpt2"), **extra)
    sae = cls(cfg)
    g = torch.Generator().manual_seed(seed)
    sae.W_enc.copy_(torch.randn(D_IN, D_SAE, generator=g) / D_IN ** 0.5)
    sae.W_dec.copy_(torch.randn(D_SAE, D_IN, generator=g) / D_SAE ** 0.5)
    sae.b_enc.copy_(torch.randn(D_SAE, generator=g) * 0.1 - 0.2)
    sae.b_dec.copy_(torch.randn(D_IN, generator=g) * 0.05)
    if hasattr(sae, "threshold"):
        sae.threshold.copy_(torch.rand(D_SAE, generator=g) * 0.5)
    return sae


def top_features(acts):
    ids, values = [], []
    for row in acts:
        order = sorted(range(len(row)), key=lambda i: (-float(row[i]), i))[:TOP]
        ids.append(order)
        values.append([float(row[i]) for i in order])
    return ids, values


def feature_patching(model, sae, hook, tok):
    """Patching and attribution over the SAE's features (see the docstring)."""
    bos = 50256
    clean = torch.tensor([[bos] + tok.encode(c).ids for c, _, _, _ in IOI])
    corrupted = torch.tensor([[bos] + tok.encode(k).ids for _, k, _, _ in IOI])
    right = torch.tensor([tok.encode(a).ids[0] for _, _, a, _ in IOI])
    wrong = torch.tensor([tok.encode(w).ids[0] for _, _, _, w in IOI])
    rows = torch.arange(len(IOI))

    def metric(logits):
        last = logits[:, -1]
        return (last[rows, right] - last[rows, wrong]).mean()

    acts_name, err_name, out_name = (f"{hook}.hook_sae_{n}" for n in ("acts_post", "error", "output"))
    model.add_sae(sae, use_error_term=True)
    logits, cache = model.run_with_cache(clean, names_filter=[acts_name, err_name])
    clean_metric = float(metric(logits))
    acts_c, err_c = cache[acts_name], cache[err_name]
    logits, cache = model.run_with_cache(corrupted, names_filter=[acts_name, err_name])
    corrupted_metric = float(metric(logits))
    acts_k, err_k = cache[acts_name], cache[err_name]
    change = (acts_c - acts_k).abs().sum((0, 1)).tolist()
    features = sorted(range(D_SAE), key=lambda f: (-change[f], f))[:PATCHED]
    n_pos = clean.shape[1]

    patch = []
    for f in features:
        row = []
        for pos in range(n_pos):
            def put(a, hook=None, f=f, pos=pos):
                a[:, pos, f] = acts_c[:, pos, f]
                return a
            row.append(float(metric(model.run_with_hooks(corrupted, fwd_hooks=[(acts_name, put)]))))
        patch.append(row)
    patch_error = []
    for pos in range(n_pos):
        def put_error(e, hook=None, pos=pos):
            e[:, pos] = err_c[:, pos]
            return e
        patch_error.append(float(metric(model.run_with_hooks(corrupted, fwd_hooks=[(err_name, put_error)]))))

    probes = {}
    def probe(name):
        def add(x, hook=None):
            probes[name] = torch.zeros_like(x, requires_grad=True)
            return x + probes[name]
        return add
    with torch.enable_grad():
        value = metric(model.run_with_hooks(corrupted, fwd_hooks=[(acts_name, probe(acts_name)), (out_name, probe(out_name))]))
        grad_acts, grad_out = torch.autograd.grad(value, [probes[acts_name], probes[out_name]])
    attrib = ((acts_c - acts_k) * grad_acts).sum(0)[:, features].T.tolist()
    attrib_error = ((err_c - err_k) * grad_out).sum((0, 2)).tolist()
    model.reset_saes()
    return {"clean_ids": clean.tolist(), "corrupted_ids": corrupted.tolist(),
            "answers": [right.tolist(), wrong.tolist()],
            "clean": clean_metric, "corrupted": corrupted_metric, "features": features,
            "patch": patch, "patch_error": patch_error, "attrib": attrib, "attrib_error": attrib_error}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    mdir = REFS / "tiny-gpt2"
    tok = Tokenizer.from_file(str(mdir / "tokenizer.json"))
    hf = GPT2LMHeadModel.from_pretrained(str(mdir), local_files_only=True, attn_implementation="eager").eval()
    cfg = tl_config_for(hf.config)
    model = HookedSAETransformer(cfg)
    model.load_and_process_state_dict(
        {k: v.detach().clone() for k, v in convert_gpt2_weights(hf, cfg).items()},
        fold_ln=False, center_writing_weights=False, center_unembed=False,
        fold_value_biases=False, refactor_factored_attn_matrices=False)
    model.eval()

    bos = 50256
    prompt = [bos] + tok.encode(PROMPT).ids
    gen_ids = tok.encode(GEN_TEXT).ids
    tensors, report = {}, {"prompt": PROMPT, "prompt_ids": prompt, "generation_prompt": GEN_TEXT,
                           "generation_prompt_ids": gen_ids, "new_tokens": GEN_NEW, "top": TOP,
                           "sae_lens": __import__("sae_lens").__version__, "saes": {}}
    # TransformerLens 3.9's KV-cached generate departs from the model on this prompt (no BOS):
    # its second token is 19460 where a full forward pass, in TransformerLens and in Hugging
    # Face alike, picks 32746 (probed in session 20). Uncached, each step is a full forward
    # pass; it is checked against Hugging Face's own greedy generate here.
    plain = model.generate(torch.tensor([gen_ids]), max_new_tokens=GEN_NEW, do_sample=False,
                           use_past_kv_cache=False, prepend_bos=False, verbose=False, stop_at_eos=False)
    plain = plain[0, len(gen_ids):].tolist()
    hf_plain = hf.generate(torch.tensor([gen_ids]), max_new_tokens=GEN_NEW, do_sample=False,
                           attention_mask=torch.ones(1, len(gen_ids), dtype=torch.long),
                           pad_token_id=50256)[0, len(gen_ids):].tolist()
    assert plain == hf_plain, (plain, hf_plain)

    for seed, (name, cls, cfg_cls, hook, apply_b_dec, extra) in enumerate(SAES, start=1):
        random_sae(seed, cls, cfg_cls, hook, apply_b_dec, extra).save_model(OUT / name)
        sae = SAE.load_from_disk(OUT / name)
        _, cache = model.run_with_cache(torch.tensor([prompt]), names_filter=[hook])
        x = cache[hook][0]
        acts = sae.encode(x)
        recon = sae.decode(acts)
        err = x - recon
        fve = 1 - float(err.pow(2).sum()) / float((x - x.mean(0)).pow(2).sum())
        ids, values = top_features(acts)
        for key, t in (("x", x), ("acts", acts), ("recon", recon)):
            tensors[f"{name}.{key}"] = t.contiguous()
        active = acts[-1] > 0
        feature = int(torch.nonzero(active)[0]) if active.any() else 0
        runs = {}
        for edit, value in (("none", None), ("clamp", 8.0), ("scale", 3.0), ("ablate", 0.0)):
            def edit_acts(a, hook=None, edit=edit, value=value):
                if edit == "clamp" or edit == "ablate":
                    a[..., feature] = value
                elif edit == "scale":
                    a[..., feature] = a[..., feature] * value
                return a
            model.add_sae(sae, use_error_term=True)
            hooks = [] if edit == "none" else [(f"{hook}.hook_sae_acts_post", edit_acts)]
            # Without the KV cache: see `plain` above.
            with model.hooks(fwd_hooks=hooks):
                out = model.generate(torch.tensor([gen_ids]), max_new_tokens=GEN_NEW, do_sample=False,
                                     use_past_kv_cache=False, prepend_bos=False, verbose=False, stop_at_eos=False)
            model.reset_saes()
            runs[edit] = {"value": value, "new_ids": out[0, len(gen_ids):].tolist()}
        assert runs["none"]["new_ids"] == plain, (name, runs["none"], plain)
        report["saes"][name] = {
            "architecture": sae.cfg.architecture(), "hook_name": hook,
            "apply_b_dec_to_input": apply_b_dec, **extra,
            "error_norm": err.norm(dim=-1).tolist(), "fve": fve,
            "top_ids": ids, "top_values": values,
            "active_per_position": (acts > 0).sum(-1).tolist(),
            "generation": {"feature": feature, **runs},
            "patching": feature_patching(model, sae, hook, tok),
        }

    # The pre-6 layout of the standard SAE's config: SAELens must read it to the same numbers.
    legacy = OUT / "legacy"
    legacy.mkdir(exist_ok=True)
    cfg6 = json.loads((OUT / "standard" / "cfg.json").read_text())
    old = {k: v for k, v in cfg6.items() if k not in ("metadata", "architecture", "reshape_activations")}
    old.update({"hook_point": cfg6["metadata"]["hook_name"], "hook_point_layer": 1,
                "model_name": "tiny-gpt2", "activation_fn_str": "relu"})
    (legacy / "cfg.json").write_text(json.dumps(old, indent=2))
    (legacy / "sae_weights.safetensors").write_bytes((OUT / "standard" / "sae_weights.safetensors").read_bytes())
    again = SAE.load_from_disk(legacy)
    assert again.cfg.metadata.hook_name == cfg6["metadata"]["hook_name"], again.cfg.metadata
    assert torch.equal(again.encode(tensors["standard.x"]), tensors["standard.acts"])
    report["saes"]["legacy"] = {"same_as": "standard"}

    save_file(tensors, str(OUT / "sae.safetensors"))
    (OUT / "sae.json").write_text(json.dumps(report, indent=1))
    print(f"wrote {OUT}: " + ", ".join(f"{n} fve {r['fve']:.3f}" for n, r in report["saes"].items() if "fve" in r))


if __name__ == "__main__":
    main()
