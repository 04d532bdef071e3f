//! The Generation panel's request: one prompt continued with the engine's controls, and
//! optionally again with an activation-addition steer, tokens reported as they are produced.

use crate::experiments::{GenerationConfig, Progress, generate, steering_vector};
use crate::hooks::HookPoint;
use crate::loading::LoadedModel;
use serde::{Deserialize, Serialize};

/// An activation addition: `coefficient × (resid(positive) − resid(negative))` at `hook`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Steer {
    pub hook: String,
    pub positive: String,
    pub negative: String,
    pub coefficient: f32,
}

/// Continue `prompt`; with `steer`, a second, steered continuation follows the default one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateRequest {
    pub prompt: String,
    pub prepend_bos: bool,
    pub config: GenerationConfig,
    pub steer: Option<Steer>,
}

/// One new token of continuation `run` (0: default, 1: steered), with its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewToken {
    pub run: usize,
    pub name: String,
    pub token: u32,
    pub text: String,
}

/// Runs `request`, calling `on_token` for every token; it returns `false` to stop.
pub async fn run(
    loaded: &LoadedModel,
    request: &GenerateRequest,
    on_token: &mut dyn FnMut(NewToken) -> bool,
) -> Result<(), String> {
    let (model, tokenizer) = (&loaded.model, &loaded.tokenizer);
    let ids = tokenizer
        .encode_prompt(&request.prompt, request.prepend_bos)
        .map_err(|e| e.to_string())?;
    let mut runs = vec![("default".to_string(), vec![])];
    if let Some(steer) = &request.steer {
        let point: HookPoint = steer
            .hook
            .parse()
            .map_err(|e: crate::hooks::UnknownHook| e.to_string())?;
        // The steering prompts always start after `<|endoftext|>` (as the oracle's steering does).
        let encode = |text: &str| {
            tokenizer
                .encode_prompt(text, true)
                .map_err(|e| e.to_string())
        };
        let vector = steering_vector(
            model,
            point,
            &encode(&steer.positive)?,
            &encode(&steer.negative)?,
        )
        .await
        .map_err(|e| e.to_string())?;
        runs.push((
            "steered".to_string(),
            vec![vector.intervention(steer.coefficient)],
        ));
    }
    let mut stopped = false;
    for (index, (name, interventions)) in runs.into_iter().enumerate() {
        if stopped {
            break;
        }
        let mut progress = Progress::tokens(|step| {
            let go_on = on_token(NewToken {
                run: index,
                name: name.clone(),
                token: step.token,
                text: tokenizer.decode(&[step.token]).unwrap_or_default(),
            });
            stopped |= !go_on;
            go_on
        });
        generate(model, &ids, &request.config, &interventions, &mut progress)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
