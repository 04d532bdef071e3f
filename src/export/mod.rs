//! An experiment spec as a Python script for an existing engine, so that an experiment carries
//! on where a browser stops: TransformerLens on a notebook's GPU, nnsight on NDIF's hosted
//! models. The scripts write their results in the layout of `patchbay run`'s JSON
//! (`grids.NAME.values`, `metrics.NAME`, `generations.NAME.generation.new_ids`), so that the
//! two can be compared number for number (`ci/interop` does, on the tiny model).

pub mod audit;
mod nnsight;
mod python;
mod transformer_lens;

use crate::spec::{Experiment, Prompts, Spec};
use python::{boolean, long_list, prompt, token};

/// The library a script is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Library {
    /// TransformerLens 4: `TransformerBridge` over transformers' GPT-2 in compatibility mode
    /// (TransformerLens's hook names), its patching functions and hooks.
    TransformerLens,
    /// TransformerLens 3.x's `HookedTransformer`, for environments pinned to it.
    TransformerLens3,
    /// `nnsight.TransformersModel` traces, locally or on NDIF (`--remote`).
    Nnsight,
}

impl Library {
    pub const ALL: [Self; 3] = [Self::TransformerLens, Self::TransformerLens3, Self::Nnsight];

    /// Its name on the command line (`--to`).
    pub fn name(self) -> &'static str {
        match self {
            Self::TransformerLens => "transformer-lens",
            Self::TransformerLens3 => "transformer-lens@3",
            Self::Nnsight => "nnsight",
        }
    }

    /// As people call it.
    pub fn title(self) -> &'static str {
        match self {
            Self::TransformerLens => "TransformerLens 4",
            Self::TransformerLens3 => "TransformerLens 3",
            Self::Nnsight => "nnsight",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.name() == name)
    }

    /// The versions its scripts are checked with (`ci/interop`), and how to install them.
    pub fn requirement(self) -> Requirement {
        match self {
            Self::TransformerLens => Requirement {
                package: "transformer-lens",
                series: "4",
                checked: "transformer-lens 4.3.0, nnsight 0.8.1, transformers 5.24.0, torch 2.15.0",
                pip: "pip install 'transformer-lens>=4.3,<5' torch",
                otherwise: "for TransformerLens 3.x export with --to transformer-lens@3",
            },
            Self::TransformerLens3 => Requirement {
                package: "transformer-lens",
                series: "3",
                checked: "transformer-lens 3.9.0, transformers 5.24.0, torch 2.15.0",
                pip: "pip install 'transformer-lens==3.9.0' torch",
                otherwise: "for TransformerLens 4 export with --to transformer-lens",
            },
            Self::Nnsight => Requirement {
                package: "nnsight",
                series: "0.8",
                checked: "nnsight 0.8.1, transformers 5.24.0, torch 2.15.0",
                pip: "pip install 'nnsight>=0.8.1,<0.9' torch",
                otherwise: "other nnsight versions may trace modules differently",
            },
        }
    }
}

/// The library versions a script runs with: the series it accepts (`4` accepts 4.x), the
/// versions `ci/interop` ran it with, and the install line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requirement {
    pub package: &'static str,
    pub series: &'static str,
    pub checked: &'static str,
    pub pip: &'static str,
    /// What to do with another version.
    pub otherwise: &'static str,
}

impl Requirement {
    /// Python that stops the script with one sentence unless the package's installed version
    /// is of the series (run before the package is imported).
    fn check(&self) -> String {
        format!(
            r#"from importlib.metadata import PackageNotFoundError, version  # noqa: E402

try:
    FOUND = version({package})
except PackageNotFoundError:
    FOUND = None
if FOUND is None or not FOUND.startswith({prefix}):
    sys.exit(f"This script is written for {package_text} {series}.x (checked with {checked}); "
             f"{{'it is not installed' if FOUND is None else FOUND + ' is installed'}}: {pip} ({otherwise}).")
"#,
            package = python::string(self.package),
            prefix = python::string(&format!("{}.", self.series)),
            package_text = self.package,
            series = self.series,
            checked = self.checked,
            pip = self.pip,
            otherwise = self.otherwise,
        )
    }
}

/// Why a spec cannot be exported.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot export: {0}")]
pub struct ExportError(pub String);

/// The spec as a self-contained Python script for `library`: `python SCRIPT MODEL OUT.json`.
pub fn to_python(spec: &Spec, library: Library) -> Result<String, ExportError> {
    spec.check().map_err(|e| {
        ExportError(format!(
            "the spec is invalid at `{}`: {}",
            e.path, e.message
        ))
    })?;
    if let Experiment::Steering(params) = &spec.experiment
        && let Some(problem) = params.direction.as_ref().and_then(|d| d.pending_problem())
    {
        return Err(ExportError(problem));
    }
    match library {
        Library::TransformerLens | Library::TransformerLens3 => {
            transformer_lens::script(spec, library)
        }
        Library::Nnsight => nnsight::script(spec),
    }
}

/// What a library's script is made of, around the experiment's own code.
struct Parts<'a> {
    library: Library,
    /// Imports, the model, `results`, `grid`, `to_ids`.
    prelude: &'a str,
    /// `to_token` and whatever the library's experiments need of the prompts.
    tokens: &'a str,
    /// `metric_per_prompt` for the spec's metric.
    metric: &'a str,
    /// The experiment.
    body: String,
}

/// Where an SAE's folder is, for every library.
const SAE_FOLDER: &str = include_str!("common/sae.py");
/// SAELens's loader, where SAELens supports the library (TransformerLens 3.x).
const SAE_LENS: &str = include_str!("common/sae_lens.py");
/// An SAE in plain torch, where SAELens does not (TransformerLens 4, nnsight).
const SAE_TORCH: &str = include_str!("common/sae_torch.py");
/// `sae_features`'s grids from the hook's activation.
const SAE_FEATURES_COMMON: &str = include_str!("common/sae_features.py");

/// An SAE's features as patching targets: the SAE and which features as constants, the SAE
/// loaded by `loader` and reached through the library (`access`: `at_sae_hook`,
/// `gradient_at_sae_hook`, `metric_with_added`), both runs split into features and the error term
/// (`sae_split.py`), then `parts` (patching, estimates and their comparison).
fn feature_targets(
    targets: &crate::experiments::feature_patching::FeatureTargets,
    loader: &str,
    access: &str,
    parts: &[&str],
) -> String {
    format!(
        "{SAE_FOLDER}{loader}\nSAE_ID = {}\nFEATURE_IDS = {}\nFEATURE_TOP = {}\n{access}{SAE_SPLIT}{}",
        python::string(&targets.sae.id),
        python::list(targets.ids.iter().map(u32::to_string)),
        targets.top,
        parts.concat(),
    )
}

/// Feature edits while generating: the SAE loaded by `loader`, the edits, `edit_features(x)`.
fn feature_edits(features: &crate::sae::FeatureEdits, loader: &str) -> String {
    let edits = serde_json::to_string(&features.edits).expect("edits serialise");
    format!(
        "{SAE_FOLDER}{loader}\nSAE_ID = {}\nEDITS = json.loads({})\n{FEATURE_EDITS}\n",
        python::string(&features.sae.id),
        python::string(&edits),
    )
}

const FEATURE_EDITS: &str = include_str!("common/feature_edits.py");

/// SAE feature attribution through the library's `access` to the SAE's hook.
fn sae_attribution(
    params: &crate::experiments::sae_attribution::Params,
    loader: &str,
    access: &str,
) -> String {
    format!(
        "{SAE_FOLDER}{loader}\nSAE_ID = {}\nTOP = {}\nPATCHED = {}\n{access}{SAE_ATTRIBUTION}",
        python::string(&params.sae.id),
        params.top,
        params.patched,
    )
}

const SAE_ATTRIBUTION: &str = include_str!("common/sae_attribution.py");
/// What a script computes for an SAE's features as attribution targets: the estimates, and with
/// `compare` the patching they estimate and Pearson's r.
fn attribution_feature_parts(compare: bool) -> &'static [&'static str] {
    match compare {
        true => &[SAE_ESTIMATE, SAE_PATCH, SAE_COMPARE],
        false => &[SAE_ESTIMATE],
    }
}

const SAE_SPLIT: &str = include_str!("common/sae_split.py");
const SAE_PATCH: &str = include_str!("common/sae_patch.py");
const SAE_ESTIMATE: &str = include_str!("common/sae_estimate.py");
const SAE_COMPARE: &str = include_str!("common/sae_compare.py");

/// An `sae_features` spec's SAE, prompt and options as the scripts' constants.
fn sae_constants(params: &crate::experiments::features::Params) -> String {
    format!(
        "\nSAE_ID = {}\nPROMPT = {}\nbos = {}\nTOP = {}\nFEATURE = {}\n",
        python::string(&params.sae.id),
        python::prompt(&params.prompt),
        python::boolean(params.prepend_bos),
        params.top,
        params
            .feature
            .map_or_else(|| "None".to_string(), |f| f.to_string()),
    )
}

/// Docstring, prelude, the spec's prompts as constants, the experiment, the results file.
fn assemble(spec: &Spec, parts: Parts<'_>) -> String {
    let mut out = header(spec, parts.library);
    out.push_str(
        &parts
            .prelude
            .replace("{REQUIRE}", &parts.library.requirement().check()),
    );
    if let Some(prompts) = &spec.prompts {
        out.push_str(&prompt_constants(prompts));
        out.push_str(TO_TOKENS);
        out.push_str(parts.tokens);
        out.push_str(parts.metric);
    }
    out.push('\n');
    out.push_str(&parts.body);
    out.push_str(FOOTER);
    out
}

/// Text that cannot end or break the script's docstring (see [`python::escaped`]).
fn docstring(text: &str) -> String {
    python::escaped(text)
}

fn header(spec: &Spec, library: Library) -> String {
    let title = if spec.title.is_empty() {
        "A Patchbay experiment".to_string()
    } else {
        docstring(&spec.title)
    };
    let requirement = library.requirement();
    format!(
        r#""""{title}

Exported from Patchbay {version} for {name}, checked with {checked}:

    {pip}

Run it as

    python this_script.py MODEL OUT.json

MODEL is a Hugging Face hub id (the spec's model is {model}) or a folder with config.json,
model.safetensors and tokenizer.json. OUT.json gets the results in the layout of
`patchbay run`: grids.NAME.values (row-major; the shape in grids.NAME.shape), metrics.NAME,
generations.NAME.generation.new_ids.{remote}
"""
"#,
        version = env!("CARGO_PKG_VERSION"),
        name = library.title(),
        checked = requirement.checked,
        pip = requirement.pip,
        remote = if library == Library::Nnsight {
            "\n\nWith --remote after OUT.json every trace runs on NDIF's hosted copy of MODEL (set an NDIF\nAPI key first: nnsight.CONFIG.set_default_api_key(KEY))."
        } else {
            ""
        },
        model = docstring(&spec.model.id),
    )
}

fn prompt_constants(prompts: &Prompts) -> String {
    format!(
        "\nPREPEND_BOS = {}\nCLEAN = {}\nCORRUPTED = {}\n\
         # (correct, incorrect) for each prompt; corrupted runs are scored with the clean answers.\n\
         ANSWERS = {}\n",
        boolean(prompts.prepend_bos),
        long_list(prompts.clean.iter().map(prompt)),
        long_list(prompts.corrupted.iter().map(prompt)),
        long_list(
            prompts
                .answers
                .iter()
                .map(|[c, i]| format!("({}, {})", token(c), token(i)))
        )
    )
}

const TO_TOKENS: &str = r#"

def to_tokens(prompts):
    """[prompt, pos] token ids; patching needs prompts of equal length."""
    rows = [to_ids(p, PREPEND_BOS) for p in prompts]
    if len({len(r) for r in rows}) > 1:
        sys.exit("the prompts have different numbers of tokens: " + str([len(r) for r in rows]))
    return torch.tensor(rows)
"#;

const FOOTER: &str = r#"
with open(sys.argv[2], "w") as out:
    json.dump(results, out)
"#;
