//! Loading from bytes: every hub layout and dtype, and a clear error for every bad input.

use crate::common;

use patchbay::loading::{LoadError, ModelFiles};
use patchbay::model::{ConfigError, Gpt2Config, InputError};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

fn files() -> ModelFiles {
    ModelFiles::from_dir(common::tiny_dir()).unwrap()
}

fn load_err(files: &ModelFiles) -> LoadError {
    files.load(&patchbay::device::cpu()).unwrap_err()
}

fn with_config(edit: impl FnOnce(&mut serde_json::Value)) -> ModelFiles {
    let mut files = files();
    let mut config: serde_json::Value = serde_json::from_slice(&files.config).unwrap();
    edit(&mut config);
    files.config = serde_json::to_vec(&config).unwrap();
    files
}

#[test]
fn config_is_read_from_hugging_face_json() {
    let config = Gpt2Config::from_hf_json(&files().config).unwrap();
    assert_eq!(
        (
            config.n_layer,
            config.n_head,
            config.n_embd,
            config.n_inner,
            config.n_positions,
            config.vocab_size
        ),
        (2, 4, 64, 256, 128, 50257)
    );
    assert_eq!(config.d_head(), 16);
    assert_eq!(config.layer_norm_epsilon, 1e-5);
}

#[test]
fn other_architectures_and_options_are_refused() {
    let err = load_err(&with_config(|c| c["model_type"] = "bert".into()));
    assert!(
        matches!(err, LoadError::Config(ConfigError::NotGpt2 { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("`bert` model"), "{err}");
    let err = load_err(&with_config(|c| c["activation_function"] = "swish".into()));
    assert!(
        err.to_string().contains("activation_function \"swish\""),
        "{err}"
    );
    let err = load_err(&with_config(|c| c["n_head"] = 5.into()));
    assert!(err.to_string().contains("not divisible"), "{err}");
    let err = load_err(&with_config(|c| {
        c.as_object_mut().unwrap().remove("n_layer");
    }));
    assert!(err.to_string().contains("`n_layer`: missing"), "{err}");
    let mut files = files();
    files.config = b"{not json".to_vec();
    assert!(
        load_err(&files)
            .to_string()
            .starts_with("config.json is not valid JSON")
    );
}

#[test]
fn weights_that_do_not_match_the_config_name_the_tensor() {
    let err = load_err(&with_config(|c| c["n_layer"] = 3.into()));
    assert_eq!(
        err,
        LoadError::MissingTensor {
            name: "h.2.ln_1.weight".into(),
            shape: vec![64]
        }
    );
    let err = load_err(&with_config(|c| c["n_layer"] = 1.into()));
    let LoadError::UnexpectedTensors(names) = &err else {
        panic!("{err}")
    };
    assert!(names.contains(&"h.1.attn.c_attn.weight".to_string()));
    assert!(err.to_string().contains("and 7 more"), "{err}");
    let err = load_err(&with_config(|c| c["n_inner"] = 128.into()));
    assert_eq!(
        err,
        LoadError::Shape {
            name: "h.0.mlp.c_fc.weight".into(),
            expected: vec![64, 128],
            actual: vec![64, 256]
        }
    );
    assert!(err.to_string().contains("config.json implies [64, 128]"));
}

#[test]
fn corrupt_and_truncated_weights_are_clear_errors() {
    let mut files = files();
    let full = files.weights.clone();
    files.weights.truncate(full.len() / 2);
    let err = load_err(&files);
    let LoadError::Truncated {
        expected,
        actual,
        tensor,
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!((*expected, *actual), (full.len(), full.len() / 2));
    assert!(
        tensor.starts_with("h.") || tensor.starts_with("w") || tensor.starts_with("ln_f"),
        "{tensor}"
    );
    assert!(
        err.to_string().starts_with(&format!(
            "the weights file is truncated at byte {actual} of {expected}, inside tensor `{tensor}`"
        )),
        "{err}"
    );
    files.weights = full.clone();
    files.weights.extend_from_slice(b"junk");
    assert!(matches!(load_err(&files), LoadError::NotSafetensors(_)));
    for garbage in [
        vec![],
        b"<!DOCTYPE html><html>Not found</html>".to_vec(),
        vec![0xff; 64],
    ] {
        files.weights = garbage;
        let err = load_err(&files);
        assert!(matches!(err, LoadError::NotSafetensors(_)), "{err}");
        assert!(
            err.to_string()
                .starts_with("the weights are not a valid safetensors file")
        );
    }
    files.weights = vec![];
    assert!(
        load_err(&files)
            .to_string()
            .contains("the file is empty (0 bytes)")
    );
    let stream = patchbay::loading::WeightStream::new(&patchbay::device::cpu(), None);
    let err = stream.finish().map(|_| ()).unwrap_err();
    assert!(
        err.to_string().contains("the file is empty (0 bytes)"),
        "{err}"
    );
}

/// Re-encodes every tensor of the hub-layout file with `convert`.
fn reencode(dtype: Dtype, convert: impl Fn(f32) -> Vec<u8>) -> Vec<u8> {
    let original = std::fs::read(common::tiny_dir().join("model.safetensors")).unwrap();
    let file = SafeTensors::deserialize(&original).unwrap();
    let encoded: Vec<(String, Vec<usize>, Vec<u8>)> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let bytes = view
                .data()
                .chunks_exact(4)
                .flat_map(|b| convert(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
                .collect();
            (name, view.shape().to_vec(), bytes)
        })
        .collect();
    let views: Vec<(&str, TensorView<'_>)> = encoded
        .iter()
        .map(|(n, s, b)| (n.as_str(), TensorView::new(dtype, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize(views, None).unwrap()
}

#[test]
fn bf16_weights_are_upcast_exactly() {
    let mut files = files();
    files.weights = reencode(Dtype::BF16, |v| {
        half::bf16::from_f32(v).to_le_bytes().to_vec()
    });
    let loaded = files.load(&patchbay::device::cpu()).unwrap();
    let wte = patchbay::tensor_io::HostTensor::from_data(loaded.model.wte.val().into_data());
    let original = files_f32_wte();
    let expected: Vec<f32> = original
        .iter()
        .map(|&v| half::bf16::from_f32(v).to_f32())
        .collect();
    assert_eq!(wte.values, expected);
}

fn files_f32_wte() -> Vec<f32> {
    let original = std::fs::read(common::tiny_dir().join("model.safetensors")).unwrap();
    let file = SafeTensors::deserialize(&original).unwrap();
    file.tensor("wte.weight")
        .unwrap()
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

#[test]
fn integer_weights_are_refused_by_name() {
    let mut files = files();
    files.weights = reencode(Dtype::I32, |v| (v as i32).to_le_bytes().to_vec());
    let err = load_err(&files);
    assert!(
        matches!(&err, LoadError::Dtype { dtype, .. } if dtype == "I32"),
        "{err}"
    );
}

#[test]
fn bad_prompts_are_clear_errors() {
    let loaded = files().load(&patchbay::device::cpu()).unwrap();
    let model = &loaded.model;
    assert_eq!(model.tokens(&[]).unwrap_err(), InputError::Empty);
    assert_eq!(model.tokens(&[vec![]]).unwrap_err(), InputError::Empty);
    let err = model.tokens(&[vec![1; 129]]).unwrap_err();
    assert_eq!(err, InputError::TooLong { len: 129, max: 128 });
    assert_eq!(
        err.to_string(),
        "the prompt has 129 tokens; this model reads at most 128"
    );
    let err = model.tokens(&[vec![1, 2, 3], vec![1, 2]]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "sequences in a batch must have equal lengths: sequence 0 has 3 tokens, sequence 1 has 2"
    );
    assert_eq!(
        model.tokens(&[vec![50257]]).unwrap_err(),
        InputError::TokenOutOfRange {
            id: 50257,
            vocab: 50257
        }
    );
}

/// Every parameter of a model as host values, in a fixed order.
fn parameters(model: &patchbay::model::Gpt2) -> Vec<Vec<f32>> {
    let host = |data| patchbay::tensor_io::HostTensor::from_data(data).values;
    let mut all = vec![
        host(model.wte.val().into_data()),
        host(model.wpe.val().into_data()),
    ];
    for block in &model.h {
        for linear in [
            &block.attn.c_attn,
            &block.attn.c_proj,
            &block.mlp.c_fc,
            &block.mlp.c_proj,
        ] {
            all.push(host(linear.weight.val().into_data()));
            all.push(host(linear.bias.as_ref().unwrap().val().into_data()));
        }
        for norm in [&block.ln_1, &block.ln_2] {
            all.push(host(norm.weight.val().into_data()));
            all.push(host(norm.bias.val().into_data()));
        }
    }
    all.push(host(model.ln_f.weight.val().into_data()));
    all
}

#[test]
fn weights_streamed_in_any_chunks_and_blocks_load_the_same_model() {
    use patchbay::loading::{WeightStream, assemble, load_gpt2};
    let device = patchbay::device::cpu();
    let files = files();
    let config = Gpt2Config::from_hf_json(&files.config).unwrap();
    let whole = parameters(&load_gpt2(&config, &files.weights, &device).unwrap());
    let bf16 = reencode(Dtype::BF16, |v| {
        half::bf16::from_f32(v).to_le_bytes().to_vec()
    });
    // Odd chunk sizes split the header, tensors and (2- and 4-byte) elements; blocks split the
    // tensors the way a GPU upload does.
    // With the file's size announced, tensors of several blocks are joined as they arrive;
    // without it, at their end.
    for (file, chunk, block, announced) in [
        (&files.weights, 4099, None, false),
        (&files.weights, 7, Some(1 << 20), false),
        (&files.weights, 65536, Some(1000), false),
        (&files.weights, 65536, Some(1000), true),
        (&bf16, 3, Some(1 << 16), true),
    ] {
        let mut stream = WeightStream::new(&device, block);
        stream.announce(announced.then_some(file.len() as u64));
        for piece in file.chunks(chunk) {
            stream.feed(piece).unwrap();
        }
        assert_eq!(stream.received(), file.len() as u64);
        let weights = stream.finish().unwrap();
        assert_eq!(weights.bytes, file.len() as u64);
        assert_eq!(weights.sha256, patchbay::spec::sha256_hex(file));
        let streamed = parameters(&assemble(&config, weights).unwrap());
        if std::ptr::eq(file, &files.weights) {
            assert_eq!(streamed, whole, "chunks of {chunk}, blocks of {block:?}");
        } else {
            let expected: Vec<Vec<f32>> = whole
                .iter()
                .map(|t| {
                    t.iter()
                        .map(|&v| half::bf16::from_f32(v).to_f32())
                        .collect()
                })
                .collect();
            assert_eq!(streamed, expected, "bf16 in chunks of {chunk}");
        }
    }
}

#[test]
fn a_stream_that_stops_early_names_the_tensor_it_stopped_in() {
    use patchbay::loading::WeightStream;
    let weights = files().weights;
    let mut stream = WeightStream::new(&patchbay::device::cpu(), Some(4096));
    for piece in weights[..weights.len() - 10].chunks(1000) {
        stream.feed(piece).unwrap();
    }
    let Err(LoadError::Truncated {
        expected,
        actual,
        tensor,
    }) = stream.finish()
    else {
        panic!("a truncated file")
    };
    assert_eq!((expected, actual), (weights.len(), weights.len() - 10));
    assert!(!tensor.is_empty());
    // Bytes after the last tensor are refused as they arrive.
    let mut stream = WeightStream::new(&patchbay::device::cpu(), None);
    stream.feed(&weights).unwrap();
    assert!(matches!(
        stream.feed(b"junk"),
        Err(LoadError::NotSafetensors(_))
    ));
}

#[test]
fn hostile_headers_are_refused_without_hanging_or_allocating_what_is_not_there() {
    use patchbay::loading::WeightStream;
    let device = patchbay::device::cpu();
    let file = |header: &str| {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes
    };
    // An empty header, then bytes.
    let mut stream = WeightStream::new(&device, None);
    let mut empty = 0u64.to_le_bytes().to_vec();
    empty.extend_from_slice(b"junk");
    assert!(matches!(
        stream.feed(&empty),
        Err(LoadError::NotSafetensors(_))
    ));
    // A shape whose size overflows.
    let huge =
        r#"{"wte.weight":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}}"#;
    let mut stream = WeightStream::new(&device, None);
    assert!(matches!(
        stream.feed(&file(huge)),
        Err(LoadError::NotSafetensors(_))
    ));
    // A consistent header for 64 GB of data that never comes: truncated, nothing reserved for it.
    let n: u64 = 1 << 34;
    let big = format!(
        r#"{{"wte.weight":{{"dtype":"F32","shape":[{n}],"data_offsets":[0,{}]}}}}"#,
        4 * n
    );
    let mut stream = WeightStream::new(&device, None);
    let mut bytes = file(&big);
    bytes.extend_from_slice(&[0; 64]);
    stream.feed(&bytes).unwrap();
    assert!(matches!(stream.finish(), Err(LoadError::Truncated { .. })));
}

/// The loading pipeline (what the browser's worker runs for a URL or picked files), from
/// files in memory read in small chunks.
mod pipeline {
    use super::files;
    use patchbay::loading::memory::Target;
    use patchbay::loading::pipeline::{
        FileSource, ListedFile, ListedLfs, Plan, listed_weights, load,
    };
    use patchbay::loading::{ModelFiles, assemble};
    use std::cell::RefCell;

    struct Memory {
        files: ModelFiles,
        /// The names asked for, in order.
        asked: Vec<String>,
    }

    impl FileSource for Memory {
        async fn read(
            &mut self,
            name: &str,
            check: &mut dyn FnMut(Option<u64>) -> Result<(), String>,
            sink: &mut dyn FnMut(&[u8]) -> Result<(), String>,
        ) -> Result<(), String> {
            self.asked.push(name.to_string());
            let bytes = match name {
                "config.json" => &self.files.config,
                "tokenizer.json" => &self.files.tokenizer,
                "model.safetensors" => &self.files.weights,
                _ => return Err(format!("no {name}")),
            };
            check(Some(bytes.len() as u64))?;
            bytes.chunks(7).try_for_each(sink)
        }
    }

    fn plan<'a>(listed: Option<&'a ListedFile>, device: &'a burn::tensor::Device) -> Plan<'a> {
        Plan {
            label: "tiny",
            weights: "model.safetensors",
            weights_size: listed.map(|l| l.size),
            listed,
            target: Target::Cpu,
            device,
            block_bytes: None,
            held: None,
        }
    }

    fn listing(files: &ModelFiles) -> ListedFile {
        use sha2::{Digest, Sha256};
        ListedFile {
            path: "model.safetensors".into(),
            size: files.weights.len() as u64,
            lfs: Some(ListedLfs {
                oid: format!("{:x}", Sha256::digest(&files.weights)),
                size: files.weights.len() as u64,
            }),
        }
    }

    fn run(source: &mut Memory, plan: &Plan) -> Result<patchbay::loading::pipeline::Parts, String> {
        let said = RefCell::new(vec![]);
        pollster::block_on(load(source, plan, &|s| said.borrow_mut().push(s)))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_model_streams_in_and_matches_its_listing() {
        let device = patchbay::device::cpu();
        let files = files();
        let listed = listing(&files);
        let mut source = Memory {
            files: files.clone(),
            asked: vec![],
        };
        let parts = run(&mut source, &plan(Some(&listed), &device)).unwrap();
        assert_eq!(
            source.asked,
            ["config.json", "tokenizer.json", "model.safetensors"]
        );
        assert_eq!(parts.weights.sha256, listed.lfs.unwrap().oid);
        assert_eq!(parts.timings_ms.len(), 2);
        assemble(&parts.config, parts.weights).unwrap();
    }

    #[test]
    fn a_second_model_counts_the_memory_the_first_holds() {
        let device = patchbay::device::cpu();
        let mut source = Memory {
            files: files(),
            asked: vec![],
        };
        // GPT-2 xl's parameters already in the worker's memory leave no room for the rest.
        let first = (
            "openai-community/gpt2-xl".to_string(),
            (4u64 << 30) - (64 << 20),
        );
        let beside = Plan {
            held: Some(&first),
            ..plan(None, &device)
        };
        let err = run(&mut source, &beside).err().unwrap();
        assert!(
            err.contains("tiny cannot be loaded here beside openai-community/gpt2-xl, which holds"),
            "{err}"
        );
        assert_eq!(
            source.asked,
            ["config.json"],
            "refused before any weight is read"
        );
        let room = ("openai-community/gpt2".to_string(), 500 << 20);
        let fits = Plan {
            held: Some(&room),
            ..plan(None, &device)
        };
        assert!(run(&mut source, &fits).is_ok());
    }

    #[test]
    fn a_listing_that_disagrees_is_refused() {
        let device = patchbay::device::cpu();
        let files = files();
        let mut wrong_size = listing(&files);
        wrong_size.size += 1;
        let mut wrong_hash = listing(&files);
        wrong_hash.lfs.as_mut().unwrap().oid = "0".repeat(64);
        for (listed, expected) in [
            (wrong_size, "the download is incomplete"),
            (wrong_hash, "the file is corrupt"),
        ] {
            let mut source = Memory {
                files: files.clone(),
                asked: vec![],
            };
            let err = run(&mut source, &plan(Some(&listed), &device))
                .err()
                .unwrap();
            assert!(err.contains(expected), "{err}");
        }
        let err = listed_weights(&[], "someone/bert").unwrap_err().to_string();
        assert!(
            err.contains("someone/bert has no model.safetensors"),
            "{err}"
        );
    }

    #[test]
    fn a_model_too_large_is_refused_before_its_weights_are_read() {
        let device = patchbay::device::cpu();
        let mut files = files();
        let mut config: serde_json::Value = serde_json::from_slice(&files.config).unwrap();
        // GPT-2 xl's shape: 6.2 GB of f32 parameters, over a tab's 4 GiB.
        for (key, value) in [
            ("n_embd", 1600),
            ("n_layer", 48),
            ("n_head", 25),
            ("n_positions", 1024),
        ] {
            config[key] = value.into();
        }
        files.config = serde_json::to_vec(&config).unwrap();
        let mut source = Memory {
            files,
            asked: vec![],
        };
        let err = run(&mut source, &plan(None, &device)).err().unwrap();
        assert!(err.contains("tiny cannot be loaded here"), "{err}");
        assert_eq!(source.asked, ["config.json"]);
    }

    #[test]
    fn truncated_weights_say_where() {
        let device = patchbay::device::cpu();
        let mut files = files();
        files.weights.truncate(files.weights.len() / 2);
        let mut source = Memory {
            files,
            asked: vec![],
        };
        let err = run(&mut source, &plan(None, &device)).err().unwrap();
        assert!(err.contains("truncated"), "{err}");
    }
}

/// A GPT-2-family checkpoint laid out differently from the hub's: `transformer.`-prefixed keys
/// (`save_pretrained`'s layout) and an unembedding of its own. The family's parameter table
/// reads both (no special path): the logits come from the file's `lm_head.weight`.
#[test]
fn a_prefixed_checkpoint_with_its_own_unembedding_loads_through_the_family_table() {
    let prefixed = std::fs::read(common::tiny_dir().join("model-prefixed.safetensors")).unwrap();
    let file = SafeTensors::deserialize(&prefixed).unwrap();
    let negated: Vec<u8> = file
        .tensor("transformer.wte.weight")
        .unwrap()
        .data()
        .chunks_exact(4)
        .flat_map(|b| (-f32::from_le_bytes([b[0], b[1], b[2], b[3]])).to_le_bytes())
        .collect();
    let tensors: Vec<(String, TensorView<'_>)> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| match name.as_str() {
            "lm_head.weight" => {
                let shape = view.shape().to_vec();
                (name, TensorView::new(Dtype::F32, shape, &negated).unwrap())
            }
            _ => (name, view),
        })
        .collect();
    let mut untied = with_config(|c| c["tie_word_embeddings"] = false.into());
    untied.weights = safetensors::serialize(tensors, None).unwrap();

    let device = patchbay::device::cpu();
    let untied = untied.load(&device).unwrap();
    let tied = files().load(&device).unwrap();
    assert!(untied.model.lm_head.is_some() && tied.model.lm_head.is_none());
    let logits = |loaded: &patchbay::loading::LoadedModel| {
        let tokens = loaded.model.tokens(&common::clean_ids()).unwrap();
        patchbay::tensor_io::HostTensor::from_data(loaded.model.forward(tokens).into_data()).values
    };
    let minus_tied: Vec<f32> = logits(&tied).into_iter().map(|v| -v).collect();
    let diff = common::max_abs_diff(&logits(&untied), &minus_tied);
    assert!(diff < 1e-4, "untied logits are minus the tied ones: {diff}");
}

#[test]
fn special_tokens_come_from_the_config_and_the_tokenizer() {
    let loaded = files().load(&patchbay::device::cpu()).unwrap();
    assert_eq!(loaded.model.config.bos_token_id, 50256);
    assert_eq!(loaded.model.config.eos_token_id, 50256);
    assert_eq!(loaded.tokenizer.bos(), 50256);
    assert_eq!(loaded.tokenizer.single_token(" "), Some(220));

    let renamed = with_config(|c| c["bos_token_id"] = 13.into())
        .load(&patchbay::device::cpu())
        .unwrap();
    assert_eq!(
        renamed.tokenizer.encode_prompt(" Mary", true).unwrap()[0],
        13
    );
    let err = load_err(&with_config(|c| c["eos_token_id"] = 60000.into()));
    assert!(
        err.to_string().contains("eos_token_id") && err.to_string().contains("50257"),
        "{err}"
    );
}

/// A config missing several fields names the first the model is described by: `n_layer` (the
/// page's fault test drops this file and expects it).
#[test]
fn a_config_missing_fields_names_n_layer_first() {
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/e2e/rejected/config/008fb49c9b.json"),
    )
    .unwrap();
    let err = Gpt2Config::from_hf_json(&bytes).unwrap_err();
    assert_eq!(err.to_string(), "config.json field `n_layer`: missing");
}

/// Sizes that would overflow a shape or a parameter count are refused by name (the fuzzer found
/// `n_embd` = 2^62 overflowing `4 · n_embd`).
#[test]
fn a_config_too_large_to_count_is_refused() {
    let config = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut value: serde_json::Value = serde_json::from_slice(&files().config).unwrap();
        edit(&mut value);
        Gpt2Config::from_hf_json(value.to_string().as_bytes())
    };
    let err = config(&|c| c["n_embd"] = (1u64 << 62).into()).unwrap_err();
    assert!(
        err.to_string().contains("n_embd") && err.to_string().contains("16777216"),
        "{err}"
    );
    let err = config(&|c| {
        c["n_embd"] = (1u64 << 24).into();
        c["n_head"] = 1.into();
        c["n_inner"] = (1u64 << 24).into();
    })
    .unwrap_err();
    assert!(err.to_string().contains("parameters"), "{err}");
    let fine = config(&|c| c["n_layer"] = 48.into()).unwrap();
    assert!(fine.n_params() < patchbay::model::MAX_PARAMETERS);
}
