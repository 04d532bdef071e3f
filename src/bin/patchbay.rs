//! `patchbay`: the command-line side of Patchbay, on the same core as the browser app.

/// `eprintln!` for messages that may quote a spec, a link or a model folder: control
/// characters and bidi overrides are shown escaped, never sent raw to the terminal.
#[cfg(not(target_arch = "wasm32"))]
macro_rules! say {
    ($($arg:tt)*) => {
        eprintln!("{}", patchbay::terminal::safe(&format!($($arg)*)))
    };
}

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use clap::{Args, Parser, Subcommand};
    use patchbay::device::{self, Backend};
    use patchbay::failure::Failure;
    use patchbay::loading::{LoadedModel, ModelFiles};
    use patchbay::tensor_io::{HostTensor, to_safetensors};
    use std::collections::BTreeMap;
    use std::path::PathBuf;

    /// GPT-2 interpretability experiments (TransformerLens semantics) on burn.
    #[derive(Parser)]
    #[command(name = "patchbay", version, about)]
    pub struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(Subcommand)]
    enum Command {
        /// Run an experiment spec (patching, ablation, lens, attribution, generation,
        /// steering) and print its result as JSON; progress goes to standard error.
        Run(RunArgs),
        /// Time a GPT-2-small-shaped model with random weights: forward on 20 tokens, a full
        /// cache run, patching sweeps, 32 greedy tokens with and without the KV cache (the
        /// browser's `?bench` runs the same workloads; see ci/bench for the TransformerLens
        /// comparison).
        Bench(BenchArgs),
        /// Make a prompt set (clean, corrupted, answers) and print it as a spec's `prompts`, or
        /// as SPEC with its prompts replaced (`--into`): an IOI dataset (Wang et al.: templates,
        /// names, ABBA/BABA, the ABC corruption) or your own pairs from a CSV/JSONL table
        /// (columns clean, corrupted, correct, incorrect).
        Dataset(DatasetArgs),
        /// Write SPEC (a spec, history file or share link, as `run` takes) as a Python script
        /// for TransformerLens or nnsight: `python SCRIPT MODEL OUT.json` writes its results in
        /// the layout of `run`'s JSON (nnsight's with `--remote` runs on NDIF).
        Export {
            /// The experiment: a spec file, a history file (with --run-id) or a share link.
            spec: String,
            /// The library to write for: transformer-lens or nnsight.
            #[arg(long, value_name = "LIBRARY", default_value = "transformer-lens")]
            to: String,
            /// Which run of a history file.
            #[arg(long)]
            run_id: Option<String>,
            /// Write here instead of standard output.
            #[arg(long)]
            out: Option<PathBuf>,
        },
        /// Print the token ids and token strings of TEXT.
        Tokenize {
            #[command(flatten)]
            model: ModelArgs,
            /// Prepend <|endoftext|> (TransformerLens's default for experiments).
            #[arg(long)]
            prepend_bos: bool,
            /// The text to tokenize.
            text: String,
        },
        /// Run the forward pass and write the logits and every hook activation, under
        /// TransformerLens's names, to a safetensors file.
        Cache {
            #[command(flatten)]
            model: ModelArgs,
            /// Comma-separated token ids of one sequence; repeat for a batch of equal lengths.
            #[arg(long = "ids", required = true, value_delimiter = ',', num_args = 1, action = clap::ArgAction::Append, value_name = "ID,ID,...")]
            ids: Vec<String>,
            /// Output file (f32 safetensors: `logits` [batch,pos,vocab] and one tensor per hook).
            #[arg(long)]
            out: PathBuf,
            /// Where to run: `cpu` or `wgpu` (Vulkan/Metal/DX12).
            #[arg(long, default_value = "cpu")]
            device: Backend,
        },
    }

    #[derive(Args)]
    struct BenchArgs {
        /// Where to run: `cpu` or `wgpu`.
        #[arg(long, default_value = "cpu")]
        device: Backend,
        /// Timed repetitions per case (after warm-up); the median is reported.
        #[arg(long, default_value_t = 5)]
        reps: usize,
        /// Also write the results as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Comma-separated workloads: forward, cache, patch_sweep, ioi_resid_pre,
        /// ioi_head_out_by_pos, generate_kv, generate_no_kv.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "forward,cache,patch_sweep,generate_kv,generate_no_kv"
        )]
        workloads: Vec<patchbay::bench::Workload>,
        /// The model: `small` (GPT-2 small's shape) or `narrow` (its depth, heads and
        /// vocabulary at width 48: the same kernel launches in a sixteenth of the work).
        #[arg(long, default_value = "small")]
        model: patchbay::bench::BenchModel,
    }

    #[derive(Args)]
    struct DatasetArgs {
        #[command(subcommand)]
        source: DatasetSource,
        /// The model folder whose tokenizer.json checks that prompts align.
        #[arg(long, value_name = "DIR", global = true)]
        model: Option<PathBuf>,
        /// Put the prompts into this spec and print the spec.
        #[arg(long, value_name = "SPEC.json", global = true)]
        into: Option<PathBuf>,
        /// Do not start prompts with <|endoftext|> (the IOI paper has none; TransformerLens
        /// prepends it).
        #[arg(long, global = true)]
        no_bos: bool,
        /// Write here instead of standard output.
        #[arg(long, global = true)]
        out: Option<PathBuf>,
    }

    #[derive(Subcommand)]
    enum DatasetSource {
        /// N IOI prompts with their ABC corruptions.
        Ioi {
            #[arg(long, default_value_t = 64)]
            n: usize,
            #[arg(long, default_value_t = 0)]
            seed: u64,
            /// abba, baba or both (alternating).
            #[arg(long, default_value = "both")]
            order: String,
        },
        /// N Colored Objects prompts (one solved example, then "What color is the X?"; the
        /// corruption asks about another object).
        ColoredObjects {
            #[arg(long, default_value_t = 64)]
            n: usize,
            #[arg(long, default_value_t = 0)]
            seed: u64,
        },
        /// N multiple-choice questions (capitals; the right answer under each letter in turn,
        /// moved to another letter in the corruption; to "A" with --anchor).
        Mcq {
            #[arg(long, default_value_t = 64)]
            n: usize,
            #[arg(long, default_value_t = 0)]
            seed: u64,
            #[arg(long)]
            anchor: bool,
        },
        /// Your prompt pairs: a CSV file with a header row, or JSON Lines.
        Pairs { file: PathBuf },
        /// N four-word sentences `[adjective noun] [verb noun]`, every word one token, for a
        /// frequency-tagging spec (with --into: its sentences; another kind's spec becomes one).
        Sentences {
            #[arg(long, default_value_t = 64)]
            n: usize,
            #[arg(long, default_value_t = 0)]
            seed: u64,
        },
    }

    #[derive(Args)]
    struct RunArgs {
        /// What to run: a spec file (JSON, see static/experiments/), a history file exported by
        /// the browser app (its run is recomputed and compared with the stored result), a
        /// share link (`https://…/#model=…&spec=…`), `example:STEM` (a bundled example) or
        /// `preset:NAME` (a published study: its specs in order, the paper's numbers beside
        /// the computed ones).
        spec: String,
        /// `HUB_ID=DIR`: the model a spec names as HUB_ID is read from DIR (repeatable): the
        /// specs of a preset that name other models, a GeDi model (`generation.gedi.model`),
        /// an SAE (`sae_features.sae`, `generation.features.sae`: a folder with SAELens's
        /// cfg.json and sae_weights.safetensors).
        #[arg(long = "model-for", value_name = "HUB_ID=DIR")]
        model_for: Vec<String>,
        /// With a history file of several runs: the id of the run to reproduce.
        #[arg(long = "run", value_name = "ID")]
        run_id: Option<String>,
        #[command(flatten)]
        model: ModelArgs,
        /// Where to run: `cpu` or `wgpu` (Vulkan/Metal/DX12).
        #[arg(long, default_value = "cpu")]
        device: Backend,
        /// Write the result JSON here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Refuse a run that would hold more than this many GiB of activations at once (checked
        /// from the spec and the model's shape before anything runs).
        #[arg(long = "max-memory-gb", value_name = "GIB", default_value_t = 16.0)]
        max_memory_gb: f64,
    }

    impl RunArgs {
        fn limits(&self) -> Result<patchbay::spec::Limits, Failure> {
            let gib = self.max_memory_gb;
            if !(gib.is_finite() && gib > 0.0 && gib < 1e9) {
                return Err(Failure::input(format!(
                    "--max-memory-gb {gib}: give a positive number of GiB"
                )));
            }
            Ok(patchbay::spec::Limits {
                memory_bytes: (gib * (1u64 << 30) as f64) as u64,
            })
        }
    }

    #[derive(Args)]
    struct ModelArgs {
        /// A folder with config.json, model.safetensors and tokenizer.json (Hugging Face layout).
        #[arg(long, value_name = "DIR")]
        model: PathBuf,
    }

    impl ModelArgs {
        fn load(&self, backend: Backend) -> Result<LoadedModel, Failure> {
            Ok(self.load_with_files(backend)?.0)
        }

        fn load_with_files(&self, backend: Backend) -> Result<(LoadedModel, ModelFiles), Failure> {
            let device = open_device(backend)?;
            let files = ModelFiles::from_dir(&self.model)?;
            let loaded = files.load(&device).map_err(|e| match Failure::from(e) {
                Failure::Load { message } => {
                    Failure::load(format!("{}: {message}", self.model.display()))
                }
                other => other,
            })?;
            Ok((loaded, files))
        }
    }

    /// Prints `text` to standard output; a reader that stopped reading (`| head`) is no error.
    fn print_out(text: &str) -> Result<(), Failure> {
        use std::io::Write;
        match writeln!(std::io::stdout(), "{}", patchbay::terminal::safe_json(text)) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Failure::internal(
                format!("cannot write to standard output: {e}"),
            )),
            _ => Ok(()),
        }
    }

    fn open_device(backend: Backend) -> Result<burn::tensor::Device, Failure> {
        device::open(backend).map_err(|message| Failure::Device { message })
    }

    fn write(path: &std::path::Path, bytes: impl AsRef<[u8]>) -> Result<(), Failure> {
        std::fs::write(path, bytes)
            .map_err(|e| Failure::internal(format!("cannot write {}: {e}", path.display())))
    }

    /// `--ids 1,2,3 --ids 4,5,6`: clap splits on commas, so regroup by occurrence.
    fn parse_batch(matches: &clap::ArgMatches) -> Result<Vec<Vec<u32>>, Failure> {
        let Some(Some(command)) = matches.subcommand().map(|(_, m)| Some(m)) else {
            return Ok(vec![]);
        };
        let groups = command
            .get_occurrences::<String>("ids")
            .ok_or(Failure::input("--ids is required"))?;
        groups
            .map(|group| {
                group
                    .map(|id| {
                        id.trim()
                            .parse::<u32>()
                            .map_err(|_| Failure::input(format!("--ids: `{id}` is not a token id")))
                    })
                    .collect::<Result<Vec<u32>, Failure>>()
            })
            .collect()
    }

    mod bench {
        use patchbay::bench::{BenchModel, BenchReport, Inputs, Workload, time};
        use patchbay::device::Backend;
        use patchbay::failure::Failure;
        use patchbay::model::Gpt2;
        use std::path::PathBuf;

        fn peak_rss_mb() -> f64 {
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0
        }

        pub fn run(
            backend: Backend,
            reps: usize,
            workloads: &[Workload],
            shape: BenchModel,
            json: Option<PathBuf>,
        ) -> Result<(), Failure> {
            let device = super::open_device(backend)?;
            let config = shape.config();
            let model = Gpt2::random(&config, 0, &device);
            let inputs = Inputs::new(config.vocab_size, 12345);
            let counted = backend == Backend::Wgpu;
            let mut timings = vec![];
            for &workload in workloads {
                let schedule = workload.schedule(reps);
                let timing = pollster::block_on(time(&model, &inputs, workload, schedule, counted))
                    .map_err(|e| match Failure::from(e) {
                        Failure::Experiment { message } => {
                            Failure::internal(format!("{}: {message}", workload.name()))
                        }
                        other => other,
                    })?;
                let launches = timing
                    .gpu_calls
                    .as_ref()
                    .map(|c| format!(" {:>7} kernel launches", c.kernel_launches))
                    .unwrap_or_default();
                say!(
                    "{:<20} {:>9.1} ms  (first run {:.1} ms){launches}",
                    workload.name(),
                    timing.median_s * 1e3,
                    timing.first_run_s * 1e3
                );
                timings.push(timing);
            }
            let value = BenchReport {
                peak_rss_mb: Some(peak_rss_mb()),
                ..BenchReport::new(shape, backend, reps, &timings)
            };
            if let Some(path) = json {
                super::write(&path, serde_json::to_string_pretty(&value).expect("json"))?;
            }
            Ok(())
        }
    }

    /// The spec to run, and the stored result to compare with when it comes from a history.
    fn read_spec(
        source: &str,
        run_id: Option<&str>,
    ) -> Result<(patchbay::spec::Spec, Option<patchbay::spec::RunResult>), Failure> {
        use patchbay::open::{open_file, open_link};
        let opened = if !std::path::Path::new(source).exists() && source.contains('#') {
            open_link(source).map_err(Failure::input)?
        } else {
            let text = std::fs::read_to_string(source)
                .map_err(|e| Failure::input(format!("cannot read {source}: {e}")))?;
            open_file(&text, run_id).map_err(|e| Failure::input(format!("{source}: {e}")))?
        };
        Ok((opened.spec, opened.stored))
    }

    fn dataset(args: DatasetArgs) -> Result<(), Failure> {
        use patchbay::datasets::{Made, colored_objects::ColoredObjects, ioi, mcq::Mcq, pairs};
        let dir = args.model.ok_or(Failure::input(
            "--model DIR is needed for its tokenizer.json",
        ))?;
        let path = dir.join("tokenizer.json");
        let bytes = std::fs::read(&path)
            .map_err(|e| Failure::load(format!("cannot read {}: {e}", path.display())))?;
        let tokenizer = patchbay::loading::Tokenizer::from_bytes(&bytes)?;
        let prepend_bos = !args.no_bos;
        let made = match args.source {
            DatasetSource::Ioi { n, seed, order } => {
                let order = serde_json::from_value(order.clone().into()).map_err(|_| {
                    Failure::input(format!("--order: `{order}` is not abba, baba or both"))
                })?;
                ioi::Ioi {
                    n,
                    seed,
                    order,
                    prepend_bos,
                }
                .generate(&tokenizer)
                .map(Made::Prompts)
                .map_err(|e| Failure::input(format!("ioi: {e}")))?
            }
            DatasetSource::ColoredObjects { n, seed } => ColoredObjects {
                n,
                seed,
                prepend_bos,
            }
            .generate(&tokenizer)
            .map(Made::Prompts)
            .map_err(|e| Failure::input(format!("colored-objects: {e}")))?,
            DatasetSource::Mcq { n, seed, anchor } => Mcq {
                n,
                seed,
                anchor,
                prepend_bos,
            }
            .generate(&tokenizer)
            .map(Made::Prompts)
            .map_err(|e| Failure::input(format!("mcq: {e}")))?,
            DatasetSource::Pairs { file } => {
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| Failure::input(format!("cannot read {}: {e}", file.display())))?;
                pairs::parse(&text, &tokenizer, prepend_bos)
                    .map(Made::Prompts)
                    .map_err(|e| Failure::input(format!("{}: {e}", file.display())))?
            }
            DatasetSource::Sentences { n, seed } => patchbay::datasets::rhythm::Rhythm { n, seed }
                .generate(&tokenizer)
                .map(Made::Stream)
                .map_err(|e| Failure::input(format!("sentences: {e}")))?,
        };
        say!("{}", made.note());
        let json = match args.into {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| Failure::input(format!("cannot read {}: {e}", path.display())))?;
                // The spec is checked with its new prompts: it may have had none.
                let (written, put) = made
                    .put_into(&text)
                    .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
                say!("{put}");
                patchbay::spec::Spec::from_json(&written)
                    .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?
                    .to_json()
            }
            None => made.to_json(),
        };
        match args.out {
            Some(path) => write(&path, json + "\n"),
            None => print_out(&json),
        }
    }

    /// `--model-for HUB_ID=DIR` pairs.
    fn folders(pairs: &[String]) -> Result<BTreeMap<String, PathBuf>, Failure> {
        pairs
            .iter()
            .map(|pair| {
                let (id, dir) = pair.split_once('=').ok_or_else(|| {
                    Failure::input(format!("--model-for {pair}: write HUB_ID=DIR"))
                })?;
                Ok((id.to_string(), PathBuf::from(dir)))
            })
            .collect()
    }

    /// Runs `spec` on `model`, reporting progress and the published comparison on stderr;
    /// other models the spec names are read from their `folders`.
    fn run_one(
        spec: &patchbay::spec::Spec,
        model: &ModelArgs,
        folders: &BTreeMap<String, PathBuf>,
        device: Backend,
        limits: patchbay::spec::Limits,
    ) -> Result<patchbay::spec::RunResult, Failure> {
        use patchbay::experiments::Progress;
        use patchbay::spec::{RunContext, run, sha256_hex};
        let (loaded, files) = model.load_with_files(device)?;
        let mut others = vec![];
        for named in spec.experiment.models() {
            if named.id == spec.model.id || others.iter().any(|(id, _)| *id == named.id) {
                continue;
            }
            let dir = folders.get(&named.id).ok_or_else(|| {
                Failure::input(format!(
                    "the spec also runs model `{0}`: give its folder with --model-for {0}=DIR",
                    named.id
                ))
            })?;
            let other = ModelArgs { model: dir.clone() }.load(device)?;
            others.push((named.id.clone(), other));
        }
        let mut saes = vec![];
        for named in spec.experiment.saes() {
            if saes.iter().any(|(id, _)| *id == named.id) {
                continue;
            }
            let dir = folders.get(&named.id).ok_or_else(|| {
                Failure::input(format!(
                    "the spec reads the SAE `{0}`: give its folder (cfg.json, sae_weights.safetensors) with --model-for {0}=DIR",
                    named.id
                ))
            })?;
            let sae_device = open_device(device)?;
            let sae = patchbay::sae::SaeFiles::from_dir(dir)
                .and_then(|files| files.load(&sae_device))
                .map_err(|e| match Failure::from(e) {
                    Failure::Load { message } => {
                        Failure::load(format!("{}: {message}", dir.display()))
                    }
                    other => other,
                })?;
            saes.push((named.id.clone(), sae));
        }
        let context = RunContext {
            model: &loaded,
            others: others.iter().map(|(id, m)| (id.as_str(), m)).collect(),
            saes: saes.iter().map(|(id, sae)| (id.as_str(), sae)).collect(),
            weights_sha256: sha256_hex(&files.weights),
            device: device.to_string(),
            limits,
        };
        let mut progress = Progress::new(|update| {
            eprint!("\r{}/{} ", update.done, update.total);
            true
        });
        let result = pollster::block_on(run(spec, &context, &mut progress))?;
        eprintln!();
        if let Some(published) = &spec.published {
            let comparisons = published.compare(&result);
            say!(
                "published ({}):\n{}",
                published.source,
                patchbay::spec::published::table(&comparisons)
            );
        }
        Ok(result)
    }

    /// `preset:NAME`: every spec of the study, each on --model or its --model-for folder.
    fn run_preset(name: &str, args: &RunArgs) -> Result<(), Failure> {
        let preset = patchbay::presets::find(name).ok_or_else(|| {
            Failure::input(format!(
                "no preset `{name}`; the presets are {}",
                patchbay::presets::names()
            ))
        })?;
        let folders = folders(&args.model_for)?;
        let mut runs = serde_json::Map::new();
        let mut results: Vec<patchbay::spec::RunResult> = vec![];
        for (stem, mut spec) in preset.parsed() {
            // A steering spec that names an earlier example's direction steers with it.
            spec.fill_direction(&results);
            let model = match folders.get(&spec.model.id) {
                Some(dir) => ModelArgs { model: dir.clone() },
                None => ModelArgs {
                    model: args.model.model.clone(),
                },
            };
            say!("{stem} ({}) on {}", spec.title, model.model.display());
            let result = run_one(&spec, &model, &folders, args.device, args.limits()?)?;
            for finding in patchbay::reading::summarise(&result) {
                say!("  {}", finding.text);
            }
            let comparisons: Vec<serde_json::Value> = spec
                .published
                .as_ref()
                .map(|p| p.compare(&result).iter().map(|c| c.to_json()).collect())
                .unwrap_or_default();
            runs.insert(
                stem.to_string(),
                serde_json::json!({ "result": result, "published": comparisons }),
            );
            results.push(result);
        }
        let json = serde_json::to_string_pretty(&serde_json::json!({
            "preset": preset.name,
            "title": preset.title,
            "paper": preset.paper,
            "runs": runs,
        }))
        .expect("results serialise");
        match &args.out {
            Some(path) => write(path, json + "\n"),
            None => print_out(&json),
        }
    }

    fn run_spec(args: RunArgs) -> Result<(), Failure> {
        if let Some(name) = args.spec.strip_prefix("preset:") {
            return run_preset(name, &args);
        }
        let (spec, stored) = match args.spec.strip_prefix("example:") {
            Some(stem) => {
                let example = patchbay::spec::examples::find(stem).ok_or_else(|| {
                    Failure::input(format!(
                        "no example `{stem}`; the examples are {}",
                        patchbay::spec::examples::EXAMPLES
                            .map(|e| e.stem)
                            .join(", ")
                    ))
                })?;
                (
                    patchbay::spec::Spec::from_json(example.json)
                        .map_err(|e| Failure::input(e.to_string()))?,
                    None,
                )
            }
            None => read_spec(&args.spec, args.run_id.as_deref())?,
        };
        let result = run_one(
            &spec,
            &args.model,
            &folders(&args.model_for)?,
            args.device,
            args.limits()?,
        )?;
        for finding in patchbay::reading::summarise(&result) {
            say!("{}", finding.text);
        }
        let context_sha = result.provenance.weights_sha256.clone();
        if let Some(stored) = stored {
            let (mut worst, mut count) = (0.0f32, 0usize);
            for (name, grid) in &stored.grids {
                let ours = result
                    .grids
                    .get(name)
                    .filter(|g| g.shape == grid.shape)
                    .ok_or_else(|| Failure::Experiment {
                        message: format!(
                            "the recomputed result has no grid `{name}` of shape {:?}",
                            grid.shape
                        ),
                    })?;
                for (a, b) in ours.values.iter().zip(&grid.values) {
                    worst = worst.max((a - b).abs());
                    count += 1;
                }
            }
            say!(
                "reproduced the stored result: max |difference| {worst:e} over {count} values (weights sha256 {} here, {} there)",
                &context_sha[..12],
                stored.provenance.weights_sha256.get(..12).unwrap_or("?")
            );
        }
        let json = serde_json::to_string_pretty(&result).expect("results serialise");
        match args.out {
            Some(path) => write(&path, json + "\n"),
            None => print_out(&json),
        }
    }

    pub fn run() -> Result<(), Failure> {
        use clap::{CommandFactory, FromArgMatches};
        let matches = Cli::command().get_matches();
        let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        match cli.command {
            Command::Run(args) => run_spec(args),
            Command::Dataset(args) => dataset(args),
            Command::Export {
                spec,
                to,
                run_id,
                out,
            } => {
                use patchbay::export::{Library, to_python};
                let library = Library::from_name(&to).ok_or_else(|| {
                    Failure::input(format!(
                        "--to: `{to}` is not a library Patchbay writes for (transformer-lens (4), transformer-lens@3, nnsight)"
                    ))
                })?;
                let (spec, _) = read_spec(&spec, run_id.as_deref())?;
                let script =
                    to_python(&spec, library).map_err(|e| Failure::input(e.to_string()))?;
                match out {
                    Some(path) => write(&path, script),
                    None => print_out(&script),
                }
            }
            Command::Bench(args) => bench::run(
                args.device,
                args.reps,
                &args.workloads,
                args.model,
                args.json,
            ),
            Command::Tokenize {
                model,
                prepend_bos,
                text,
            } => {
                let loaded = model.load(Backend::Cpu)?;
                let ids = loaded
                    .tokenizer
                    .encode_prompt(&text, prepend_bos)
                    .map_err(|e| Failure::input(e.to_string()))?;
                let tokens = loaded.tokenizer.tokens(&ids);
                println!(
                    "{}",
                    ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
                );
                for (id, token) in ids.iter().zip(tokens) {
                    println!("{}", patchbay::terminal::safe(&format!("{id}\t{token:?}")));
                }
                Ok(())
            }
            Command::Cache {
                model, out, device, ..
            } => {
                let batch = parse_batch(&matches)?;
                let loaded = model.load(device)?;
                let tokens = loaded
                    .model
                    .tokens(&batch)
                    .map_err(|e| Failure::input(format!("--ids: {e}")))?;
                let (logits, cache) = loaded.model.run_with_cache(tokens, |_| true);
                let mut tensors = BTreeMap::new();
                tensors.insert(
                    "logits".to_string(),
                    HostTensor::from_data(logits.into_data()),
                );
                for (point, activation) in cache.iter() {
                    tensors.insert(
                        point.to_string(),
                        HostTensor::from_data(activation.to_data()),
                    );
                }
                let bytes = to_safetensors(&tensors).map_err(Failure::internal)?;
                write(&out, bytes)?;
                say!("wrote {} tensors to {}", tensors.len(), out.display());
                Ok(())
            }
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    match cli::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => {
            say!("error: {failure}");
            std::process::ExitCode::from(failure.exit_code())
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {}
