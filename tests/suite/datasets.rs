//! Prompt sets: the IOI generator and the user's CSV/JSONL pairs, with the real GPT-2
//! tokenizer of the tiny model.

use crate::common;

use patchbay::datasets::{DatasetError, ioi, pairs};
use patchbay::loading::Tokenizer;
use patchbay::spec::{PromptInput, TokenInput};

fn tokenizer() -> Tokenizer {
    Tokenizer::from_bytes(&std::fs::read(common::tiny_dir().join("tokenizer.json")).unwrap())
        .unwrap()
}

fn text(p: &PromptInput) -> &str {
    match p {
        PromptInput::Text(t) => t,
        PromptInput::Ids(_) => panic!("text expected"),
    }
}

fn answer(t: &TokenInput) -> &str {
    match t {
        TokenInput::Text(t) => t,
        TokenInput::Id(_) => panic!("text expected"),
    }
}

#[test]
fn ioi_prompts_align_name_the_answers_and_follow_the_seed() {
    let tokenizer = tokenizer();
    let config = ioi::Ioi {
        n: 64,
        seed: 7,
        order: ioi::Order::Both,
        prepend_bos: true,
    };
    let dataset = config.generate(&tokenizer).unwrap();
    let prompts = &dataset.prompts;
    assert_eq!(prompts.clean.len(), 64);
    assert_eq!(prompts.corrupted.len(), 64);
    let lengths: std::collections::BTreeSet<usize> = prompts
        .clean
        .iter()
        .chain(&prompts.corrupted)
        .map(|p| tokenizer.encode_prompt(text(p), true).unwrap().len())
        .collect();
    assert_eq!(
        lengths.len(),
        1,
        "one length for the whole batch: {lengths:?}"
    );
    for (i, ((clean, corrupted), [io, s])) in prompts
        .clean
        .iter()
        .zip(&prompts.corrupted)
        .zip(&prompts.answers)
        .enumerate()
    {
        let (clean, corrupted, io, s) = (text(clean), text(corrupted), answer(io), answer(s));
        assert_eq!(tokenizer.encode(io).unwrap().len(), 1, "{io}");
        // The subject is named twice and the indirect object once, before the answer slot.
        assert_eq!(clean.matches(s.trim()).count(), 2, "{clean}");
        assert_eq!(clean.matches(io.trim()).count(), 1, "{clean}");
        // ABBA (the indirect object first) at even rows, BABA at odd ones.
        let first = clean.find(io.trim()).unwrap() < clean.find(s.trim()).unwrap();
        assert_eq!(first, i % 2 == 0, "{clean}");
        // The ABC corruption: neither name appears.
        assert!(!corrupted.contains(io.trim()) && !corrupted.contains(s.trim()));
        assert!(clean.ends_with(" to"), "{clean}");
    }
    assert_eq!(config.generate(&tokenizer).unwrap(), dataset);
    let other = ioi::Ioi {
        seed: 8,
        ..config.clone()
    };
    assert_ne!(other.generate(&tokenizer).unwrap().prompts, dataset.prompts);
    let zero = ioi::Ioi { n: 0, ..config };
    assert!(matches!(
        zero.generate(&tokenizer),
        Err(DatasetError::Parameter(_))
    ));
}

#[test]
fn pairs_read_csv_and_jsonl_and_name_every_bad_row() {
    let tokenizer = tokenizer();
    let csv = "clean,corrupted,correct,incorrect\n\
        \"When John and Mary went out, John said\",\"When John and Mary went out, Mary said\", Mary, John\n\
        \"When Tom and Sid went out, Tom said\",\"When Tom and Sid went out, Sid said\", Sid, Tom\n";
    let dataset = pairs::parse(csv, &tokenizer, true).unwrap();
    assert_eq!(dataset.prompts.clean.len(), 2);
    assert_eq!(answer(&dataset.prompts.answers[0][0]), " Mary");
    assert_eq!(
        text(&dataset.prompts.clean[0]),
        "When John and Mary went out, John said"
    );

    let bad = "clean,corrupted,correct,incorrect\n\
        When John and Mary went out,When John went out, Mary, John\n\
        When Tom and Sid left,When Sid and Tom left, Tom Hanks, Sid\n\
        only,three,fields\n\
        When Tom and Sid left,When Sid and Tom left, Tom, Sid\n";
    let Err(DatasetError::Rows { listed: rows, .. }) = pairs::parse(bad, &tokenizer, true) else {
        panic!("bad rows must be refused")
    };
    assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), [4]);
    let no_short = bad.replace("only,three,fields\n", "");
    let Err(DatasetError::Rows { listed: rows, .. }) = pairs::parse(&no_short, &tokenizer, true)
    else {
        panic!("bad rows must be refused")
    };
    assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), [2, 3]);
    assert!(
        rows[0].message.contains("must align"),
        "{}",
        rows[0].message
    );
    assert!(
        rows[1].message.contains("must be one token"),
        "{}",
        rows[1].message
    );
    let message = DatasetError::Rows {
        total: rows.len(),
        listed: rows,
    }
    .to_string();
    assert!(
        message.starts_with("2 rows cannot be used:\nrow 2: "),
        "{message}"
    );

    let jsonl = r#"{"clean": "When Tom and Sid left", "corrupted": "When Sid and Tom left", "correct": " Tom", "incorrect": " Sid"}
{"clean": "When Tom and Sid left", "corrupted": "When Sid and Tom left", "correct": " Tom"}
not json"#;
    let Err(DatasetError::Rows { listed: rows, .. }) = pairs::parse(jsonl, &tokenizer, true) else {
        panic!("bad lines must be refused")
    };
    assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), [2, 3]);
    assert!(rows[0].message.contains("`incorrect` is missing"));
    let good = jsonl.lines().next().unwrap();
    assert_eq!(
        pairs::parse(good, &tokenizer, false)
            .unwrap()
            .prompts
            .clean
            .len(),
        1
    );
    assert!(matches!(
        pairs::parse("clean,wrong\n", &tokenizer, true),
        Err(DatasetError::Format(_))
    ));
    assert!(matches!(
        pairs::parse("", &tokenizer, true),
        Err(DatasetError::Format(_))
    ));
}

/// Every prompt of a set tokenises to one length, clean and corrupted alike, and every answer
/// is one token.
fn assert_aligned(tokenizer: &Tokenizer, prompts: &patchbay::spec::Prompts) {
    let lengths: std::collections::BTreeSet<usize> = prompts
        .clean
        .iter()
        .chain(&prompts.corrupted)
        .map(|p| {
            tokenizer
                .encode_prompt(text(p), prompts.prepend_bos)
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(lengths.len(), 1, "{lengths:?}");
    for pair in &prompts.answers {
        for a in pair {
            assert_eq!(
                tokenizer.encode(answer(a)).unwrap().len(),
                1,
                "{}",
                answer(a)
            );
        }
        assert_ne!(answer(&pair[0]), answer(&pair[1]));
    }
}

#[test]
fn colored_objects_ask_about_another_object_in_the_corruption() {
    use patchbay::datasets::colored_objects::ColoredObjects;
    let tokenizer = tokenizer();
    let config = ColoredObjects {
        n: 32,
        seed: 1,
        prepend_bos: true,
    };
    let dataset = config.generate(&tokenizer).unwrap();
    let prompts = &dataset.prompts;
    assert_eq!(prompts.clean.len(), 32);
    assert_aligned(&tokenizer, prompts);
    for ((clean, corrupted), [right, wrong]) in prompts
        .clean
        .iter()
        .zip(&prompts.corrupted)
        .zip(&prompts.answers)
    {
        let (clean, corrupted) = (text(clean), text(corrupted));
        // Same scene, another question: the prompts differ in the queried object only.
        let (scene, asked) = clean.rsplit_once("What color is the ").unwrap();
        let (other_scene, other) = corrupted.rsplit_once("What color is the ").unwrap();
        assert_eq!(scene, other_scene);
        assert_ne!(asked, other);
        let asked = asked.trim_end_matches("?\nA:");
        let colour = answer(right).trim().to_lowercase();
        assert!(
            scene.contains(&format!("{colour} {asked}")),
            "{clean} → {}",
            answer(right)
        );
        let other = other.trim_end_matches("?\nA:");
        let colour = answer(wrong).trim().to_lowercase();
        assert!(
            scene.contains(&format!("{colour} {other}")),
            "{corrupted} → {}",
            answer(wrong)
        );
        assert!(clean.starts_with("Q: On the "), "{clean}");
    }
    assert_eq!(config.generate(&tokenizer).unwrap(), dataset);
}

#[test]
fn multiple_choice_moves_the_right_answer_to_another_letter() {
    use patchbay::datasets::mcq::Mcq;
    let tokenizer = tokenizer();
    for anchor in [false, true] {
        let config = Mcq {
            n: 24,
            seed: 2,
            anchor,
            prepend_bos: true,
        };
        let prompts = config.generate(&tokenizer).unwrap().prompts;
        assert_aligned(&tokenizer, &prompts);
        let letters: Vec<&str> = prompts.answers.iter().map(|[c, _]| answer(c)).collect();
        assert_eq!(
            &letters[..4],
            [" A", " B", " C", " D"],
            "each letter in turn"
        );
        for ((clean, corrupted), [right, wrong]) in prompts
            .clean
            .iter()
            .zip(&prompts.corrupted)
            .zip(&prompts.answers)
        {
            let option = |prompt: &str, letter: &str| {
                let line = format!("\n{}. ", letter.trim());
                let start = prompt.find(&line).unwrap() + line.len();
                prompt[start..].split('\n').next().unwrap().to_string()
            };
            let (clean, corrupted) = (text(clean), text(corrupted));
            // The right answer sits under the correct letter in the clean prompt and under
            // the incorrect one in the corrupted prompt.
            assert_eq!(
                option(clean, answer(right)),
                option(corrupted, answer(wrong))
            );
            if anchor && answer(right) != " A" {
                assert_eq!(answer(wrong), " A");
            }
        }
    }
}

/// Thousands of bad rows: the first hundred listed, the count said.
#[test]
fn a_table_of_bad_rows_lists_a_hundred_and_counts_them_all() {
    let text = "not json\n".repeat(150).replacen("not json", "{", 1);
    let Err(DatasetError::Rows { listed, total }) = pairs::parse(&text, &tokenizer(), true) else {
        panic!("bad lines must be refused")
    };
    assert_eq!((listed.len(), total), (100, 150));
    let message = DatasetError::Rows { listed, total }.to_string();
    assert!(message.starts_with("150 rows cannot be used"), "{message}");
    assert!(message.ends_with("… and 140 more rows"), "{message}");
}

#[test]
fn rhythm_sentences_are_one_token_a_word_follow_the_seed_and_make_a_frequency_spec() {
    use patchbay::datasets::rhythm::{ADJECTIVES, NOUNS, Rhythm, VERBS};
    let tokenizer = tokenizer();
    let stream = Rhythm { n: 48, seed: 3 }.generate(&tokenizer).unwrap();
    assert_eq!(stream.sentences.len(), 48);
    assert_eq!((stream.words_per_sentence, stream.words_per_phrase), (4, 2));
    for sentence in &stream.sentences {
        assert_eq!(tokenizer.encode(sentence).unwrap().len(), 4, "{sentence:?}");
        let words: Vec<&str> = sentence.split_whitespace().collect();
        assert!(
            ADJECTIVES.contains(&words[0]) && NOUNS.contains(&words[1]),
            "{sentence:?}"
        );
        assert!(
            VERBS.contains(&words[2]) && NOUNS.contains(&words[3]),
            "{sentence:?}"
        );
    }
    let distinct: std::collections::BTreeSet<&String> = stream.sentences.iter().collect();
    assert!(distinct.len() > 40, "sentences vary: {}", distinct.len());
    assert_eq!(
        Rhythm { n: 48, seed: 3 }.generate(&tokenizer).unwrap(),
        stream
    );
    assert_ne!(
        Rhythm { n: 48, seed: 4 }.generate(&tokenizer).unwrap(),
        stream
    );
    assert!(stream.note.contains("48 sentences"), "{}", stream.note);

    let lens = r#"{"version": 1, "model": {"id": "gpt2"}, "prompts": {"clean": ["a"]}, "experiment": "logit_lens"}"#;
    let (written, replaced) = stream.put_into(lens).unwrap();
    assert!(replaced);
    let spec = patchbay::spec::Spec::from_json(&written).unwrap();
    let patchbay::spec::Experiment::FrequencyTagging(params) = spec.experiment else {
        panic!("a frequency-tagging spec");
    };
    assert_eq!(params.sentences.len(), 48);

    // A stream the transform or GPT-2 cannot take is refused by its count.
    for (n, says) in [
        (3, "four sentences"),
        (257, "at most 1024"),
        (251, "prime factor"),
    ] {
        let err = Rhythm { n, seed: 0 }.generate(&tokenizer).unwrap_err();
        assert!(
            matches!(&err, DatasetError::Parameter(m) if m.contains(says)),
            "n {n}: {err}"
        );
    }
}
