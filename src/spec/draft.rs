//! Specs written from the app's form: its text fields become a checked [`Spec`] here, so the
//! form only holds text and draws what this says; a spec opens back into the form
//! (`FormDraft::from_spec`), so the JSON editor and the form stay two views of one spec.

use super::{Experiment, ModelRef, PromptInput, Prompts, SPEC_VERSION, Spec, TokenInput};
use crate::experiments::{
    AblationKind, AblationTarget, AttributionTarget, GenerationConfig, Metric, PatchTarget,
    ablation, attribution, circuit, eap, generation, loss, neurons, patching, path, repetition,
    steering,
};
use crate::hooks::HookPoint;
use std::collections::BTreeMap;

/// The experiments the form writes: those that read the spec's prompts, and those that read
/// their own texts (loss, repetition, generation and steering).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FormKind {
    ActivationPatching,
    Ablation,
    Circuit,
    LogitLens,
    AttributionPatching,
    PathPatching,
    EdgeAttributionPatching,
    NeuronDla,
    Loss,
    Repetition,
    Generation,
    Steering,
}

impl FormKind {
    pub const ALL: [Self; 12] = [
        Self::ActivationPatching,
        Self::Ablation,
        Self::Circuit,
        Self::LogitLens,
        Self::AttributionPatching,
        Self::PathPatching,
        Self::EdgeAttributionPatching,
        Self::NeuronDla,
        Self::Loss,
        Self::Repetition,
        Self::Generation,
        Self::Steering,
    ];

    /// The spec's name of the kind (`activation_patching`).
    pub fn name(self) -> &'static str {
        match self {
            Self::ActivationPatching => "activation_patching",
            Self::Ablation => "ablation",
            Self::Circuit => "circuit",
            Self::LogitLens => "logit_lens",
            Self::AttributionPatching => "attribution_patching",
            Self::PathPatching => "path_patching",
            Self::EdgeAttributionPatching => "edge_attribution_patching",
            Self::NeuronDla => "neuron_dla",
            Self::Loss => "loss",
            Self::Repetition => "repetition",
            Self::Generation => "generation",
            Self::Steering => "steering",
        }
    }

    /// For people.
    pub fn title(self) -> &'static str {
        match self {
            Self::ActivationPatching => "Activation patching",
            Self::Ablation => "Ablation (knock components out)",
            Self::Circuit => "Circuit (keep only some heads)",
            Self::LogitLens => "Logit lens and direct logit attribution",
            Self::AttributionPatching => "Attribution patching",
            Self::PathPatching => "Path patching",
            Self::EdgeAttributionPatching => "Edge attribution patching",
            Self::NeuronDla => "Neuron attribution",
            Self::Loss => "Per-token loss",
            Self::Repetition => "Repetition curves",
            Self::Generation => "Generation",
            Self::Steering => "Steering (activation addition)",
        }
    }

    /// Two paragraphs for someone meeting the method: what it measures, how to read the
    /// result; and the paper that introduced it.
    pub fn help(self) -> Help {
        let help = |what, read, paper, url| Help {
            what,
            read,
            paper,
            url,
        };
        match self {
            Self::ActivationPatching => help(
                "Runs the corrupted prompts and puts back one activation from the clean run at a time (a layer's residual stream at one position, a head's output, ...). Where putting one piece back restores the clean answer, that piece carries the information the corruption removed.",
                "Read the normalised grids: 1 means the patch restores the clean metric fully, 0 means it does nothing. In IOI, the residual stream at the second name (S2) matters early and at the last position late: the information moves between layers 7 and 9.",
                "Meng et al. 2022, Locating and Editing Factual Associations in GPT (causal tracing); Heimersheim and Nanda, How to use and interpret activation patching",
                "https://arxiv.org/abs/2404.15255",
            ),
            Self::Ablation => help(
                "Knocks out one component at a time on the clean prompts — sets its output to zero, to its mean over the batch, or to its value on a corrupted prompt (resample) — and measures the metric. Optionally only at one position, as the IOI demo knocks out a name mover at the last token.",
                "Values far from the clean metric mark components the model needs. Zero ablation can push activations off their usual range; mean and resample ablation are gentler. Backup heads can hide a component's importance: the IOI name mover 9.9 alone costs little.",
                "Wang et al. 2022, Interpretability in the Wild (knock-outs); Chan et al. 2022, Causal Scrubbing (resampling)",
                "https://arxiv.org/abs/2211.00593",
            ),
            Self::Circuit => help(
                "Keeps only the heads you name and replaces every other head's output by its mean over the clean prompts: how much of the task does the circuit alone perform?",
                "Compare the circuit's metric with the full model's (clean). Wang et al.'s IOI circuit keeps most of GPT-2 small's logit difference; a circuit missing a key class of heads (the name movers, say) loses most of it.",
                "Wang et al. 2022, Interpretability in the Wild",
                "https://arxiv.org/abs/2211.00593",
            ),
            Self::LogitLens => help(
                "Reads the residual stream after each layer through the final LayerNorm and the unembedding, as if the model stopped there; and splits the final stream into what each layer and each head wrote (direct logit attribution).",
                "The accumulated residual's logit difference by layer shows where the answer appears (in IOI, a jump at 9_mid). Per-head attribution names the heads that write it directly: large positive for the name movers, negative for the negative name movers.",
                "nostalgebraist 2020, interpreting GPT: the logit lens; Elhage et al. 2021, A Mathematical Framework for Transformer Circuits",
                "https://www.lesswrong.com/posts/AcKRB8wDpdaN6v6ru/interpreting-gpt-the-logit-lens",
            ),
            Self::AttributionPatching => help(
                "Estimates every activation patch at once from one forward and one backward pass: the metric's gradient on the corrupted run times the difference between the clean and corrupted activations.",
                "With the comparison on, each estimate is plotted against the real patch with its Pearson r. Attention outputs and head values usually agree well; MLP outputs and the residual stream less, where the metric is far from linear in the activation.",
                "Nanda 2023, Attribution Patching: Activation Patching At Industrial Scale",
                "https://www.neelnanda.io/mechanistic-interpretability/attribution-patching",
            ),
            Self::PathPatching => help(
                "Measures the effect of one head along one route only: the sender's output changes, every other head is frozen, and only what reaches the receivers (a few heads' queries, keys or values, or the logits) is let through.",
                "Each cell is a sender head. Strong cells to the name movers' queries are the S-inhibition heads in IOI. Senders at or after the receivers' layer have no path and show the base metric.",
                "Wang et al. 2022, Interpretability in the Wild; Goldowsky-Dill et al. 2023, Localizing Model Behavior with Path Patching",
                "https://arxiv.org/abs/2304.05969",
            ),
            Self::EdgeAttributionPatching => help(
                "Scores every edge of the model's graph — from the embeddings, each head and each MLP to every later head's query, key and value input, every MLP and the logits — with one backward pass: the attribution-patching estimate of patching that single connection.",
                "The strongest edges, drawn as a graph, sketch a circuit in seconds. They are linear estimates: confirm the ones you build on with path patching.",
                "Syed, Rager and Conmy 2023, Attribution Patching Outperforms Automated Circuit Discovery",
                "https://arxiv.org/abs/2310.10348",
            ),
            Self::NeuronDla => help(
                "Reads every MLP neuron's output (its activation times its row of W_out) through the final LayerNorm and the unembedding, onto the difference between the two answers: each neuron's direct contribution to the logit difference.",
                "The table lists the neurons that write most (largest |activation| times the size of their output vector) with their direct effect. In the multiple-choice preset, late-layer neurons with a large positive effect are those pulling the answer towards \"A\".",
                "Geva et al. 2022, Transformer Feed-Forward Layers Build Predictions by Promoting Concepts in the Vocabulary Space; Li and Gao 2024, Anchored Answers",
                "https://arxiv.org/abs/2203.14680",
            ),
            Self::Loss => help(
                "The model's surprise at each next token of your texts: minus the log-probability it gave the token that came.",
                "Compare two models on the same texts (the LN-free preset compares GPT-2 without LayerNorm against its control), or find where a text surprises the model.",
                "Heimersheim 2024, You can remove GPT2's LayerNorm by fine-tuning",
                "https://arxiv.org/abs/2409.13710",
            ),
            Self::Repetition => help(
                "Repeats one sentence n times and reads the probability of each of its tokens in each copy: TP_n is their mean in copy n, IP_n the share of tokens more probable than in the first copy.",
                "Both curves rise with the number of copies: the model reinforces its own repetitions, the loop that greedy decoding falls into.",
                "Xu et al. 2022, Learning to Break the Loop",
                "https://arxiv.org/abs/2206.02369",
            ),
            Self::Generation => help(
                "Continues your prompt one token at a time with the controls of Hugging Face's generate: temperature (0 picks the most likely token), top-k and nucleus (top-p) sampling, repetition, frequency and presence penalties, banned tokens and logit bias. The same seed gives the same continuation.",
                "Hover or focus a generated token for the probability the model gave it and the runners-up. Greedy decoding of a small model loops quickly (see the repetition preset); penalties and sampling break the loop at the cost of fidelity to the model's own distribution.",
                "Holtzman et al. 2019, The Curious Case of Neural Text Degeneration (nucleus sampling)",
                "https://arxiv.org/abs/1904.09751",
            ),
            Self::Steering => help(
                "Activation addition: runs two short prompts (\"Love\" and \"Hate\", say), takes the difference of their activations at one hook and adds it, times a coefficient, while the model continues your prompt. At every position uses the two prompts' last tokens; at the front adds the padded prompts' difference position by position to the first tokens, as Turner et al. do.",
                "The steered continuation is shown beside the unsteered one from the same seed. Middle layers (6 of GPT-2 small's 12) steer topic and sentiment best; too large a coefficient turns the text into the steering words themselves.",
                "Turner et al. 2023, Steering Language Models With Activation Engineering",
                "https://arxiv.org/abs/2308.10248",
            ),
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether the kind reads the spec's prompts (and which).
    pub fn needs(self) -> crate::experiments::Needs {
        use crate::experiments::Needs;
        match self {
            Self::Loss | Self::Repetition | Self::Generation | Self::Steering => Needs::NoPrompts,
            Self::Ablation | Self::Circuit | Self::LogitLens | Self::NeuronDla => Needs::Clean,
            _ => Needs::CleanAndCorrupted,
        }
    }
}

/// A method explained for the help panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Help {
    pub what: &'static str,
    pub read: &'static str,
    pub paper: &'static str,
    pub url: &'static str,
}

/// The experiment form as the user filled it in: one prompt per line, answers as
/// `correct | incorrect` (each word gets its leading space, as GPT-2 tokenises words), heads
/// as TransformerLens writes them (`9.9 10.7`), every number as text; each kind reads its
/// fields. What the form does not show (the title, published values, rows per pass, the seed)
/// is carried over from the spec it was opened from.
#[derive(Debug, Clone, PartialEq)]
pub struct FormDraft {
    /// The loaded model's name, recorded in the spec.
    pub model: String,
    pub kind: FormKind,
    pub clean: String,
    pub corrupted: String,
    pub answers: String,
    pub prepend_bos: bool,
    pub metric: Metric,
    /// Activation patching.
    pub targets: Vec<PatchTarget>,
    /// Ablation: how, of what (`heads`, `mlp`, `neurons`), the neurons' layer and list, the
    /// position (empty: all).
    pub ablation: AblationKind,
    pub ablation_unit: String,
    pub neuron_layer: String,
    pub neurons: String,
    pub position: String,
    /// Circuit: the heads kept.
    pub keep: String,
    /// Attribution patching.
    pub compare: bool,
    pub attribution_targets: Vec<AttributionTarget>,
    /// Path patching: the receivers (empty: the final residual stream) and their input.
    pub direction: path::Direction,
    pub receivers: String,
    pub receiver_input: path::HeadInput,
    /// Edge attribution and neuron attribution: how many to list.
    pub top: String,
    /// Per-token loss: one text per line.
    pub texts: String,
    /// Repetition.
    pub sentence: String,
    pub repeats: String,
    /// Generation and steering: the prompt continued, and how tokens are picked.
    pub prompt: String,
    pub sampling: SamplingDraft,
    /// Steering: the hook, the two prompts (kept exactly: their leading spaces matter), the
    /// coefficient, and where the difference is added.
    pub hook: String,
    pub positive: String,
    pub negative: String,
    pub coeff: String,
    pub steer_at: steering::SteerAt,
    /// The spec's seed: the sampler's (and resampling's, and datasets').
    pub seed: String,
    /// Carried over, not shown.
    pub kept: Kept,
}

/// A [`GenerationConfig`] as text fields; an empty optional field is off.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingDraft {
    pub max_new_tokens: String,
    pub temperature: String,
    pub top_k: String,
    pub top_p: String,
    pub repetition_penalty: String,
    pub frequency_penalty: String,
    pub presence_penalty: String,
    /// Token ids, space- or comma-separated.
    pub banned_tokens: String,
    /// `id:bias` pairs (`50256:-100 318:2.5`).
    pub logit_bias: String,
    pub stop_at_eos: bool,
    pub kv_cache: bool,
}

impl From<&GenerationConfig> for SamplingDraft {
    fn from(c: &GenerationConfig) -> Self {
        let optional = |v: Option<String>| v.unwrap_or_default();
        Self {
            max_new_tokens: c.max_new_tokens.to_string(),
            temperature: c.temperature.to_string(),
            top_k: optional(c.top_k.map(|k| k.to_string())),
            top_p: optional(c.top_p.map(|p| p.to_string())),
            repetition_penalty: optional(c.repetition_penalty.map(|p| p.to_string())),
            frequency_penalty: c.frequency_penalty.to_string(),
            presence_penalty: c.presence_penalty.to_string(),
            banned_tokens: c
                .banned_tokens
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            logit_bias: c
                .logit_bias
                .iter()
                .map(|(id, bias)| format!("{id}:{bias}"))
                .collect::<Vec<_>>()
                .join(" "),
            stop_at_eos: c.stop_at_eos,
            kv_cache: c.kv_cache,
        }
    }
}

impl Default for SamplingDraft {
    fn default() -> Self {
        Self::from(&GenerationConfig::default())
    }
}

impl SamplingDraft {
    /// The settings (the seed is the spec's), or the first problem of each field.
    pub fn config(&self, problems: &mut Vec<String>) -> Option<GenerationConfig> {
        fn parsed<T: std::str::FromStr>(
            text: &str,
            field: &str,
            problems: &mut Vec<String>,
        ) -> Option<T> {
            text.trim()
                .parse()
                .map_err(|_| problems.push(format!("{field}: `{}` is not a number", text.trim())))
                .ok()
        }
        fn optional<T: std::str::FromStr>(
            text: &str,
            field: &str,
            problems: &mut Vec<String>,
        ) -> Option<Option<T>> {
            if text.trim().is_empty() {
                Some(None)
            } else {
                parsed(text, field, problems).map(Some)
            }
        }
        let before = problems.len();
        let banned_tokens: Vec<u32> = words(&self.banned_tokens)
            .filter_map(|w| parsed(w, "banned tokens", problems))
            .collect();
        let mut logit_bias = BTreeMap::new();
        for pair in words(&self.logit_bias) {
            match pair.split_once(':') {
                Some((id, bias)) => {
                    if let (Some(id), Some(bias)) = (
                        parsed(id, "logit bias (token id)", problems),
                        parsed(bias, "logit bias", problems),
                    ) {
                        logit_bias.insert(id, bias);
                    }
                }
                None => problems.push(format!(
                    "logit bias: `{pair}` is not `token id:bias` (as 50256:-100)"
                )),
            }
        }
        let config = GenerationConfig {
            max_new_tokens: parsed(&self.max_new_tokens, "max new tokens", problems)
                .unwrap_or_default(),
            temperature: parsed(&self.temperature, "temperature", problems).unwrap_or_default(),
            top_k: optional(&self.top_k, "top-k", problems).flatten(),
            top_p: optional(&self.top_p, "top-p", problems).flatten(),
            repetition_penalty: optional(&self.repetition_penalty, "repetition penalty", problems)
                .flatten(),
            frequency_penalty: parsed(&self.frequency_penalty, "frequency penalty", problems)
                .unwrap_or_default(),
            presence_penalty: parsed(&self.presence_penalty, "presence penalty", problems)
                .unwrap_or_default(),
            logit_bias,
            banned_tokens,
            seed: 0,
            stop_at_eos: self.stop_at_eos,
            kv_cache: self.kv_cache,
        };
        (problems.len() == before).then_some(config)
    }
}

/// The words of a list field: split at white space and commas.
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
}

/// What a spec carries that the form does not show.
#[derive(Debug, Clone, PartialEq)]
pub struct Kept {
    pub title: String,
    pub published: Option<super::published::Published>,
    pub max_rows: usize,
}

impl Default for Kept {
    fn default() -> Self {
        Self {
            title: String::new(),
            published: None,
            max_rows: patching::default_max_rows(),
        }
    }
}

/// The patching form's old name.
pub type PatchingDraft = FormDraft;

/// The non-empty lines of a text field, trimmed; `\n` in a line is a line break inside that
/// prompt (multiple-choice and Colored Objects prompts have them).
pub fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.replace("\\n", "\n"))
        .collect()
}

/// The non-empty lines of a text field as typed: leading spaces kept (a text that starts with
/// a space tokenises differently), trailing ones and `\r` dropped; `\n` a line break.
pub fn exact_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.replace("\\n", "\n"))
        .collect()
}

/// A prompt as one line of a text field: its line breaks written `\n`.
fn one_line(text: &str) -> String {
    text.replace('\n', "\\n")
}

/// A one-line field's prompt exactly as typed (leading spaces kept), `\n` a line break.
fn unescape(text: &str) -> PromptInput {
    PromptInput::Text(text.replace("\\n", "\n"))
}

/// A text prompt as one line of a field (`None` for token ids).
fn exact(prompt: &PromptInput) -> Option<String> {
    match prompt {
        PromptInput::Text(t) => Some(one_line(t)),
        PromptInput::Ids(_) => None,
    }
}

/// `" Mary | John"` → the two answers, each with its leading space.
fn answer_pair(line: &str) -> Result<[TokenInput; 2], String> {
    let (a, b) = line
        .split_once('|')
        .ok_or_else(|| format!("answers: `{line}` is not `correct | incorrect`"))?;
    let word = |w: &str| match w.trim().strip_prefix('#').map(str::parse::<u32>) {
        Some(Ok(id)) => TokenInput::Id(id),
        _ => TokenInput::Text(format!(" {}", w.trim())),
    };
    Ok([word(a), word(b)])
}

/// `9.9 10.7` (or `9.9, 10.7`) → `[(9, 9), (10, 7)]`.
pub fn heads(text: &str, field: &str) -> Result<Vec<(usize, usize)>, String> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let (l, h) = w.split_once('.').ok_or_else(|| {
                format!("{field}: `{w}` is not a head (write layer.head, as 9.9)")
            })?;
            match (l.parse(), h.parse()) {
                (Ok(l), Ok(h)) => Ok((l, h)),
                _ => Err(format!(
                    "{field}: `{w}` is not a head (write layer.head, as 9.9)"
                )),
            }
        })
        .collect()
}

fn write_heads(heads: &[(usize, usize)]) -> String {
    heads
        .iter()
        .map(|(l, h)| format!("{l}.{h}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn number<T: std::str::FromStr>(text: &str, field: &str) -> Result<T, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{field}: `{}` is not a whole number", text.trim()))
}

impl Default for FormDraft {
    fn default() -> Self {
        Self {
            model: String::new(),
            kind: FormKind::ActivationPatching,
            clean: String::new(),
            corrupted: String::new(),
            answers: String::new(),
            prepend_bos: true,
            metric: Metric::LogitDiff,
            targets: vec![PatchTarget::ResidPre],
            ablation: AblationKind::Zero,
            ablation_unit: "heads".into(),
            neuron_layer: "0".into(),
            neurons: String::new(),
            position: String::new(),
            keep: String::new(),
            compare: true,
            attribution_targets: AttributionTarget::DEFAULT.to_vec(),
            direction: path::Direction::Noising,
            receivers: String::new(),
            receiver_input: path::HeadInput::Q,
            top: "20".into(),
            texts: String::new(),
            sentence: String::new(),
            repeats: "10".into(),
            // Turner et al.'s first example: a start for generation and steering alike.
            prompt: "I hate you because".into(),
            sampling: SamplingDraft::default(),
            hook: "blocks.6.hook_resid_pre".into(),
            positive: " Love".into(),
            negative: " Hate".into(),
            coeff: "5".into(),
            steer_at: steering::SteerAt::EveryPosition,
            seed: "0".into(),
            kept: Kept::default(),
        }
    }
}

impl FormDraft {
    /// The form's fields for a spec it can write (`None` for prompts given as token ids, and
    /// generation with interventions, which only the JSON editor writes).
    pub fn from_spec(spec: &Spec) -> Option<Self> {
        let text = |inputs: &[PromptInput]| {
            inputs
                .iter()
                .map(|p| match p {
                    PromptInput::Text(t) => Some(one_line(t)),
                    PromptInput::Ids(_) => None,
                })
                .collect::<Option<Vec<_>>>()
                .map(|l| l.join("\n"))
        };
        let token = |t: &TokenInput| match t {
            TokenInput::Text(t) => t.trim().to_string(),
            TokenInput::Id(id) => format!("#{id}"),
        };
        let mut draft = Self {
            model: spec.model.id.clone(),
            metric: spec.metric,
            kept: Kept {
                title: spec.title.clone(),
                published: spec.published.clone(),
                max_rows: patching::default_max_rows(),
            },
            seed: spec.seed.to_string(),
            ..Self::default()
        };
        if let Some(prompts) = &spec.prompts {
            draft.clean = text(&prompts.clean)?;
            draft.corrupted = text(&prompts.corrupted)?;
            draft.answers = prompts
                .answers
                .iter()
                .map(|[a, b]| format!("{} | {}", token(a), token(b)))
                .collect::<Vec<_>>()
                .join("\n");
            draft.prepend_bos = prompts.prepend_bos;
        }
        match &spec.experiment {
            Experiment::ActivationPatching(p) => {
                draft.kind = FormKind::ActivationPatching;
                draft.targets = p.targets.clone();
                draft.kept.max_rows = p.max_rows;
            }
            Experiment::Ablation(p) => {
                draft.kind = FormKind::Ablation;
                draft.ablation = p.ablation;
                match &p.target {
                    AblationTarget::Heads => draft.ablation_unit = "heads".into(),
                    AblationTarget::Mlp => draft.ablation_unit = "mlp".into(),
                    AblationTarget::Neurons { layer, neurons } => {
                        draft.ablation_unit = "neurons".into();
                        draft.neuron_layer = layer.to_string();
                        draft.neurons = neurons
                            .iter()
                            .map(usize::to_string)
                            .collect::<Vec<_>>()
                            .join(" ");
                    }
                }
                draft.position = p.position.map(|p| p.to_string()).unwrap_or_default();
                draft.kept.max_rows = p.max_rows;
            }
            Experiment::Circuit(p) => {
                draft.kind = FormKind::Circuit;
                let keep: Vec<(usize, usize)> = p.keep.iter().map(|[l, h]| (*l, *h)).collect();
                draft.keep = write_heads(&keep);
            }
            Experiment::LogitLens => draft.kind = FormKind::LogitLens,
            Experiment::AttributionPatching(p) => {
                draft.kind = FormKind::AttributionPatching;
                draft.compare = p.compare;
                draft.attribution_targets = p.targets.clone();
                draft.kept.max_rows = p.max_rows;
            }
            Experiment::PathPatching(p) => {
                draft.kind = FormKind::PathPatching;
                draft.direction = p.direction;
                if let path::Receivers::Heads { heads, input } = &p.receivers {
                    draft.receivers = write_heads(heads);
                    draft.receiver_input = *input;
                }
                draft.kept.max_rows = p.max_rows;
            }
            Experiment::EdgeAttributionPatching(p) => {
                draft.kind = FormKind::EdgeAttributionPatching;
                draft.top = p.top.to_string();
            }
            Experiment::NeuronDla(p) => {
                draft.kind = FormKind::NeuronDla;
                draft.top = p.top.to_string();
            }
            Experiment::Loss(p) => {
                draft.kind = FormKind::Loss;
                draft.texts = text(&p.texts)?;
                draft.prepend_bos = p.prepend_bos;
            }
            Experiment::Repetition(p) => {
                draft.kind = FormKind::Repetition;
                draft.sentence = match &p.sentence {
                    PromptInput::Text(t) => one_line(t),
                    PromptInput::Ids(_) => return None,
                };
                draft.repeats = p.repeats.to_string();
                draft.prepend_bos = p.prepend_bos;
            }
            Experiment::Generation(p) => {
                if !p.interventions.is_empty() {
                    return None;
                }
                draft.kind = FormKind::Generation;
                draft.prompt = exact(&p.prompt)?;
                draft.prepend_bos = p.prepend_bos;
                draft.sampling = SamplingDraft::from(&p.generation);
            }
            Experiment::Steering(p) => {
                draft.kind = FormKind::Steering;
                draft.prompt = exact(&p.prompt)?;
                draft.positive = exact(&p.positive)?;
                draft.negative = exact(&p.negative)?;
                draft.hook = p.hook.to_string();
                draft.coeff = p.coeff.to_string();
                draft.steer_at = p.at;
                draft.prepend_bos = p.prepend_bos;
                draft.sampling = SamplingDraft::from(&p.generation);
            }
        }
        Some(draft)
    }

    /// The answers written as words, as the spec will hold them (each with its leading space;
    /// answers given as `#id` and lines that are not pairs left out): what the form shows
    /// tokenised, since an answer must be one token.
    pub fn answer_words(&self) -> Vec<String> {
        lines(&self.answers)
            .iter()
            .filter_map(|line| answer_pair(line).ok())
            .flatten()
            .filter_map(|answer| match answer {
                TokenInput::Text(t) => Some(t),
                TokenInput::Id(_) => None,
            })
            .collect()
    }

    /// The spec, or every problem the user can fix in the form (the spec's own checks
    /// included).
    pub fn to_spec(&self) -> Result<Spec, Vec<String>> {
        let mut problems = Vec::new();
        let prompts = match self.kind.needs() {
            crate::experiments::Needs::NoPrompts => None,
            needs => self.prompts(needs, &mut problems),
        };
        let experiment = self.experiment(&mut problems);
        if !problems.is_empty() {
            return Err(problems);
        }
        let spec = Spec {
            version: SPEC_VERSION,
            title: if self.kept.title.is_empty() {
                format!("{} (from the form)", self.kind.title())
            } else {
                self.kept.title.clone()
            },
            model: ModelRef {
                id: self.model.clone(),
                revision: None,
            },
            prompts,
            metric: self.metric,
            experiment: experiment.expect("no problems, so an experiment"),
            seed: number(&self.seed, "seed").map_err(|e| vec![e])?,
            published: self.kept.published.clone(),
        };
        spec.check().map_err(|e| vec![e.to_string()])?;
        Ok(spec)
    }

    fn prompts(
        &self,
        needs: crate::experiments::Needs,
        problems: &mut Vec<String>,
    ) -> Option<Prompts> {
        let (clean, corrupted, answers) = (
            lines(&self.clean),
            lines(&self.corrupted),
            lines(&self.answers),
        );
        if clean.is_empty() {
            problems.push("write at least one clean prompt".to_string());
        }
        let with_corrupted =
            needs == crate::experiments::Needs::CleanAndCorrupted || !corrupted.is_empty();
        if (with_corrupted && clean.len() != corrupted.len()) || clean.len() != answers.len() {
            problems.push(format!(
                "{} clean prompts, {} corrupted prompts and {} answer pairs: one of each per line",
                clean.len(),
                corrupted.len(),
                answers.len()
            ));
        }
        let answers: Vec<[TokenInput; 2]> = answers
            .iter()
            .filter_map(|a| answer_pair(a).map_err(|e| problems.push(e)).ok())
            .collect();
        Some(Prompts {
            clean: clean.into_iter().map(PromptInput::Text).collect(),
            corrupted: corrupted.into_iter().map(PromptInput::Text).collect(),
            answers,
            prepend_bos: self.prepend_bos,
        })
    }

    fn experiment(&self, problems: &mut Vec<String>) -> Option<Experiment> {
        let mut fail = |message: String| {
            problems.push(message);
            None
        };
        let max_rows = self.kept.max_rows;
        Some(match self.kind {
            FormKind::ActivationPatching => {
                if self.targets.is_empty() {
                    return fail("choose at least one target".into());
                }
                Experiment::ActivationPatching(patching::Params {
                    targets: self.targets.clone(),
                    max_rows,
                })
            }
            FormKind::Ablation => {
                let target = match self.ablation_unit.as_str() {
                    "heads" => AblationTarget::Heads,
                    "mlp" => AblationTarget::Mlp,
                    _ => {
                        let layer = match number(&self.neuron_layer, "neuron layer") {
                            Ok(l) => l,
                            Err(e) => return fail(e),
                        };
                        let neurons = self
                            .neurons
                            .split(|c: char| c.is_whitespace() || c == ',')
                            .filter(|w| !w.is_empty())
                            .map(|w| number(w, "neurons"))
                            .collect::<Result<Vec<usize>, String>>();
                        match neurons {
                            Ok(neurons) => AblationTarget::Neurons { layer, neurons },
                            Err(e) => return fail(e),
                        }
                    }
                };
                let position = match self.position.trim() {
                    "" => None,
                    p => match number(p, "position") {
                        Ok(p) => Some(p),
                        Err(e) => return fail(e),
                    },
                };
                Experiment::Ablation(ablation::Params {
                    ablation: self.ablation,
                    target,
                    position,
                    max_rows,
                })
            }
            FormKind::Circuit => match heads(&self.keep, "heads kept") {
                Ok(keep) if keep.is_empty() => return fail("heads kept: name at least one".into()),
                Ok(keep) => Experiment::Circuit(circuit::Params {
                    keep: keep.into_iter().map(|(l, h)| [l, h]).collect(),
                }),
                Err(e) => return fail(e),
            },
            FormKind::LogitLens => Experiment::LogitLens,
            FormKind::AttributionPatching => {
                if self.attribution_targets.is_empty() {
                    return fail("choose at least one target".into());
                }
                Experiment::AttributionPatching(attribution::Params {
                    compare: self.compare,
                    targets: self.attribution_targets.clone(),
                    max_rows,
                })
            }
            FormKind::PathPatching => {
                let receivers = match heads(&self.receivers, "receivers") {
                    Ok(h) if h.is_empty() => path::Receivers::FinalResid,
                    Ok(heads) => path::Receivers::Heads {
                        heads,
                        input: self.receiver_input,
                    },
                    Err(e) => return fail(e),
                };
                Experiment::PathPatching(path::Params {
                    direction: self.direction,
                    receivers,
                    max_rows,
                })
            }
            FormKind::EdgeAttributionPatching => match number(&self.top, "edges shown") {
                Ok(top) => Experiment::EdgeAttributionPatching(eap::Params { top }),
                Err(e) => return fail(e),
            },
            FormKind::NeuronDla => match number(&self.top, "neurons listed") {
                Ok(top) => Experiment::NeuronDla(neurons::Params { top }),
                Err(e) => return fail(e),
            },
            FormKind::Loss => {
                let texts = exact_lines(&self.texts);
                if texts.is_empty() {
                    return fail("texts: write at least one".into());
                }
                Experiment::Loss(loss::Params {
                    texts: texts.into_iter().map(PromptInput::Text).collect(),
                    prepend_bos: self.prepend_bos,
                })
            }
            FormKind::Repetition => {
                if self.sentence.trim().is_empty() {
                    return fail("sentence: write one".into());
                }
                match number(&self.repeats, "repeats") {
                    Ok(repeats) => Experiment::Repetition(repetition::Params {
                        sentence: PromptInput::Text(self.sentence.replace("\\n", "\n")),
                        repeats,
                        prepend_bos: self.prepend_bos,
                    }),
                    Err(e) => return fail(e),
                }
            }
            FormKind::Generation => {
                if self.prompt.is_empty() && !self.prepend_bos {
                    return fail("prompt: write one, or prepend <|endoftext|>".into());
                }
                let generation = self.sampling.config(problems)?;
                Experiment::Generation(generation::Params {
                    prompt: unescape(&self.prompt),
                    prepend_bos: self.prepend_bos,
                    generation,
                    interventions: vec![],
                })
            }
            FormKind::Steering => {
                let hook = self
                    .hook
                    .trim()
                    .parse::<HookPoint>()
                    .map_err(|e| problems.push(format!("steer at: {e}")))
                    .ok();
                let coeff = self
                    .coeff
                    .trim()
                    .parse::<f32>()
                    .map_err(|_| {
                        problems.push(format!(
                            "coefficient: `{}` is not a number",
                            self.coeff.trim()
                        ))
                    })
                    .ok();
                for (field, text) in [("toward", &self.positive), ("away from", &self.negative)] {
                    if text.is_empty() {
                        problems.push(format!("{field}: write a word or a phrase"));
                    }
                }
                let generation = self.sampling.config(problems);
                let (Some(hook), Some(coeff), Some(generation)) = (hook, coeff, generation) else {
                    return None;
                };
                if self.positive.is_empty() || self.negative.is_empty() {
                    return None;
                }
                Experiment::Steering(steering::Params {
                    hook,
                    positive: unescape(&self.positive),
                    negative: unescape(&self.negative),
                    coeff,
                    prompt: unescape(&self.prompt),
                    prepend_bos: self.prepend_bos,
                    generation,
                    at: self.steer_at,
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::examples::EXAMPLES;

    #[test]
    fn every_example_goes_round_the_form_unchanged() {
        for example in EXAMPLES {
            let spec = Spec::from_json(example.json).unwrap();
            let draft = FormDraft::from_spec(&spec)
                .unwrap_or_else(|| panic!("{}: the form cannot hold it", example.stem));
            assert_eq!(draft.to_spec().unwrap(), spec, "{}", example.stem);
        }
    }

    #[test]
    fn generation_with_interventions_stays_in_the_json_editor() {
        let spec = Spec::from_json(include_str!(
            "../../tests/specs/generation-interventions-tiny.json"
        ))
        .unwrap();
        assert!(FormDraft::from_spec(&spec).is_none());
    }

    #[test]
    fn sampling_fields_are_checked_one_by_one() {
        let draft = FormDraft {
            kind: FormKind::Generation,
            prompt: " The".into(),
            sampling: SamplingDraft {
                temperature: "warm".into(),
                top_k: "".into(),
                banned_tokens: "50256, x".into(),
                logit_bias: "318:2.5 50256".into(),
                ..SamplingDraft::default()
            },
            ..FormDraft::default()
        };
        assert_eq!(
            draft.to_spec().unwrap_err(),
            vec![
                "banned tokens: `x` is not a number",
                "logit bias: `50256` is not `token id:bias` (as 50256:-100)",
                "temperature: `warm` is not a number",
            ]
        );
        let fixed = FormDraft {
            sampling: SamplingDraft {
                temperature: "0.7".into(),
                banned_tokens: "50256, 13".into(),
                logit_bias: "318:2.5 50256:-100".into(),
                ..draft.sampling.clone()
            },
            seed: "7".into(),
            ..draft
        };
        let spec = fixed.to_spec().unwrap();
        let Experiment::Generation(p) = &spec.experiment else {
            panic!("{spec:?}")
        };
        assert_eq!(
            p.prompt,
            PromptInput::Text(" The".into()),
            "leading space kept"
        );
        assert_eq!(p.generation.banned_tokens, vec![50256, 13]);
        assert_eq!(
            p.generation.logit_bias,
            BTreeMap::from([(318, 2.5), (50256, -100.0)])
        );
        assert_eq!(spec.seed, 7);
        assert_eq!(
            FormDraft::from_spec(&spec).unwrap().to_spec().unwrap(),
            spec
        );
    }

    #[test]
    fn steering_names_each_missing_part() {
        let draft = FormDraft {
            kind: FormKind::Steering,
            prompt: "I hate you because".into(),
            hook: "blocks.6.hook_resid_mid_typo".into(),
            coeff: "five".into(),
            negative: String::new(),
            ..FormDraft::default()
        };
        let problems = draft.to_spec().unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("steer at: "), "{problems:?}");
        assert_eq!(problems[1], "coefficient: `five` is not a number");
        assert_eq!(problems[2], "away from: write a word or a phrase");
    }

    #[test]
    fn every_kind_is_explained_with_a_paper() {
        for kind in FormKind::ALL {
            let help = kind.help();
            assert!(help.what.len() > 80 && help.read.len() > 80, "{kind:?}");
            assert!(help.url.starts_with("https://"), "{kind:?}");
            assert_eq!(FormKind::from_name(kind.name()), Some(kind));
        }
    }

    #[test]
    fn heads_are_written_as_transformer_lens_writes_them() {
        assert_eq!(
            heads("9.9, 10.7  11.10", "x"),
            Ok(vec![(9, 9), (10, 7), (11, 10)])
        );
        assert_eq!(
            heads("9.9 L10H7", "heads kept").unwrap_err(),
            "heads kept: `L10H7` is not a head (write layer.head, as 9.9)"
        );
    }

    #[test]
    fn a_kind_built_from_scratch_lists_its_problems_by_field() {
        let draft = FormDraft {
            kind: FormKind::Ablation,
            clean: "a".into(),
            answers: "b | c".into(),
            ablation_unit: "neurons".into(),
            neurons: "1 x".into(),
            ..FormDraft::default()
        };
        assert_eq!(
            draft.to_spec().unwrap_err(),
            vec!["neurons: `x` is not a whole number"]
        );
        let loss = FormDraft {
            kind: FormKind::Loss,
            texts: "one\n\ntwo".into(),
            ..FormDraft::default()
        };
        let spec = loss.to_spec().unwrap();
        assert!(spec.prompts.is_none());
        let spaced = FormDraft {
            texts: " leading space\r\n\n  \ntrailing  ".into(),
            ..loss.clone()
        };
        let Experiment::Loss(p) = spaced.to_spec().unwrap().experiment else {
            panic!()
        };
        assert_eq!(
            p.texts,
            vec![
                PromptInput::Text(" leading space".into()),
                PromptInput::Text("trailing".into())
            ]
        );
        assert_eq!(spec.title, "Per-token loss (from the form)");
    }

    fn ioi() -> PatchingDraft {
        PatchingDraft::from_spec(&Spec::from_json(EXAMPLES[0].json).unwrap()).unwrap()
    }

    #[test]
    fn the_example_goes_round_the_form() {
        let example = Spec::from_json(EXAMPLES[0].json).unwrap();
        let spec = ioi().to_spec().unwrap();
        assert_eq!(spec.prompts, example.prompts);
        assert_eq!(spec.experiment, example.experiment);
        assert_eq!(Spec::from_json(&spec.to_json()).unwrap(), spec);
    }

    #[test]
    fn answers_are_tokenised_as_the_spec_holds_them() {
        let draft = FormDraft {
            answers: "Mary | John\n#5335 |  Johnathan \nnot a pair".into(),
            ..FormDraft::default()
        };
        assert_eq!(draft.answer_words(), vec![" Mary", " John", " Johnathan"]);
    }

    #[test]
    fn every_problem_is_listed() {
        let draft = PatchingDraft {
            kind: FormKind::ActivationPatching,
            corrupted: String::new(),
            answers: "Mary John\n | ".into(),
            targets: vec![],
            ..ioi()
        };
        let problems = draft.to_spec().unwrap_err();
        assert!(
            problems[0].contains("corrupted prompts and 2 answer pairs"),
            "{problems:?}"
        );
        assert!(problems[1].contains("`Mary John` is not `correct | incorrect`"));
        assert_eq!(problems[2], "choose at least one target");
    }
}
