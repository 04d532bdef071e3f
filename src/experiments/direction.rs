//! A direction from texts: each text's mean activation at a residual-stream hook, then the
//! direction they vary along most (the first principal component, as Schramowski et al. find a
//! moral direction in phrase embeddings) or the difference of two groups' means; every text
//! projected onto it.

use super::kind::{About, ExperimentKind};
use super::readback::read;
use super::{
    ExperimentError, Grid, GridKind, GridName, MetricName, Needs, Output, ParamError, Progress,
    PromptInput, PromptSet,
};
use crate::hooks::HookPoint;
use crate::model::Gpt2;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// The spec's `direction`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    pub texts: Vec<PromptInput>,
    /// A `[batch, pos, d_model]` hook: `blocks.L.hook_resid_post`, `hook_embed`...
    pub hook: HookPoint,
    #[serde(default)]
    pub method: Method,
    /// Start each text with `<|endoftext|>` (its activation then enters the mean).
    #[serde(default)]
    pub prepend_bos: bool,
}

/// How the direction is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The first principal component of the texts' vectors, pointing so that the first text
    /// projects positive.
    #[default]
    Pca,
    /// The mean of the first half of the texts minus that of the second half, unit length.
    MeanDifference,
}

/// The most texts a direction is found from: the PCA diagonalises a `[text, text]` matrix, so
/// time grows as the cube of the count (512 texts: a second on the CPU fallback).
pub const MAX_TEXTS: usize = 512;

/// The projection grid and the direction itself.
const PROJECTION: &str = "direction.projection";
const VECTOR: &str = "direction.vector";
const EXPLAINED: &str = "direction.explained";

impl ExperimentKind for Params {
    const ABOUT: About = About {
        title: "Direction from texts (PCA)",
        what: "Runs each text, averages its activation at one hook over its tokens, and finds the direction these vectors vary along most (their first principal component), or the difference between the first and second half of the texts' means. Every text is then placed on that axis.",
        read: "Texts of one kind should fall on one side: with do's and don'ts (\"help people\", \"harm animals\"), Schramowski et al. find that the first component of GPT-like phrase embeddings rates actions as right or wrong. The explained share says how much of the texts' variation the axis carries; the direction (direction.vector) can be downloaded.",
        paper: "Schramowski et al. 2022, Large Pre-trained Language Models Contain Human-like Biases of What is Right and Wrong to Do",
        url: "https://arxiv.org/abs/2103.11790",
    };
    const NEEDS: Needs = Needs::NoPrompts;
    const GRIDS: &'static [&'static str] = &[PROJECTION, VECTOR];
    const METRICS: &'static [&'static str] = &[EXPLAINED];

    fn check(&self) -> Result<(), ParamError> {
        let problem = |field: &str, message: &str| {
            Err(ParamError {
                field: field.into(),
                message: message.into(),
            })
        };
        if self.texts.len() < 2 {
            return problem("texts", "give at least two texts");
        }
        if self.texts.len() > MAX_TEXTS {
            return Err(ParamError {
                field: "texts".into(),
                message: format!(
                    "{} texts: a direction is found from at most {MAX_TEXTS}",
                    self.texts.len()
                ),
            });
        }
        if !self.hook.is_d_model() {
            return problem(
                "hook",
                "a direction lives in the residual stream: give a [batch, pos, d_model] hook such as blocks.6.hook_resid_post",
            );
        }
        Ok(())
    }
}

/// `direction.projection` `[text]` (each text's centred vector on the direction),
/// `direction.vector` `[d_model]` (unit length) and, for PCA, the metric
/// `direction.explained` (the first component's share of the variance).
pub async fn run(
    model: &Gpt2,
    prompts: &PromptSet<'_>,
    params: &Params,
    progress: &mut Progress<'_>,
) -> Result<Output, ExperimentError> {
    params.checked()?;
    super::hook_exists(model, params.hook)?;
    let mut vectors = Vec::with_capacity(params.texts.len());
    let mut labels = Vec::with_capacity(params.texts.len());
    for (i, text) in params.texts.iter().enumerate() {
        let path = format!("experiment.direction.texts[{i}]");
        let ids = prompts.encode(text, params.prepend_bos, &path)?;
        let (_, cache) = model.run_with_cache(model.tokens(std::slice::from_ref(&ids))?, |p| {
            p == params.hook
        });
        let act: Tensor<3> = cache
            .get(params.hook)
            .ok_or(ExperimentError::MissingActivation(params.hook))?;
        let [_, pos, d_model] = act.dims();
        let mean = read(act.mean_dim(1).reshape([d_model]))
            .await
            .map_err(ExperimentError::Device)?;
        debug_assert!(pos > 0);
        vectors.push(mean.into_iter().map(f64::from).collect::<Vec<f64>>());
        labels.push(match text {
            PromptInput::Text(t) => t.clone(),
            PromptInput::Ids(_) => prompts.token_texts(&ids).concat(),
        });
        progress.report(i + 1, params.texts.len(), &[], 1)?;
    }
    let found = find(&vectors, params.method);
    let mut output = Output::default();
    output.grid(
        GridName::raw(GridKind::Named(PROJECTION)),
        Grid::new(
            &["text"],
            vec![vectors.len()],
            found.projections.iter().map(|&v| v as f32).collect(),
        )
        .with_labels(labels),
    );
    output.grid(
        GridName::raw(GridKind::Named(VECTOR)),
        Grid::new(
            &["d_model"],
            vec![found.direction.len()],
            found.direction.iter().map(|&v| v as f32).collect(),
        ),
    );
    if let Some(explained) = found.explained {
        output.metric(MetricName::Named(EXPLAINED), explained as f32);
    }
    Ok(output)
}

/// A direction among vectors, and where each vector lies on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Unit length.
    pub direction: Vec<f64>,
    /// `(v_i − mean) · direction`.
    pub projections: Vec<f64>,
    /// PCA: the first component's share of the variance.
    pub explained: Option<f64>,
}

/// # Shapes
/// - vectors: `[text][d_model]`, at least two
pub fn find(vectors: &[Vec<f64>], method: Method) -> Found {
    let n = vectors.len();
    let d = vectors[0].len();
    let mean: Vec<f64> = (0..d)
        .map(|j| vectors.iter().map(|v| v[j]).sum::<f64>() / n as f64)
        .collect();
    let centred: Vec<Vec<f64>> = vectors
        .iter()
        .map(|v| v.iter().zip(&mean).map(|(a, m)| a - m).collect())
        .collect();
    let (mut direction, explained) = match method {
        Method::Pca => {
            let (direction, explained) = first_component(&centred);
            (direction, Some(explained))
        }
        Method::MeanDifference => {
            let half = n / 2;
            let group_mean = |rows: &[Vec<f64>]| -> Vec<f64> {
                (0..d)
                    .map(|j| rows.iter().map(|v| v[j]).sum::<f64>() / rows.len() as f64)
                    .collect()
            };
            let (first, second) = (group_mean(&vectors[..half]), group_mean(&vectors[half..]));
            let difference: Vec<f64> = first.iter().zip(&second).map(|(a, b)| a - b).collect();
            (unit(difference), None)
        }
    };
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    if method == Method::Pca && dot(&centred[0], &direction) < 0.0 {
        direction.iter_mut().for_each(|v| *v = -*v);
    }
    let projections = centred.iter().map(|c| dot(c, &direction)).collect();
    Found {
        direction,
        projections,
        explained,
    }
}

fn unit(v: Vec<f64>) -> Vec<f64> {
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm == 0.0 {
        return v;
    }
    v.into_iter().map(|x| x / norm).collect()
}

/// The first right singular vector of the centred rows (unit length, sign arbitrary) and its
/// share of the variance: from the eigenvectors of the `[text, text]` Gram matrix (few texts,
/// wide vectors), by Jacobi rotations.
fn first_component(centred: &[Vec<f64>]) -> (Vec<f64>, f64) {
    let n = centred.len();
    let mut gram: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| centred[i].iter().zip(&centred[j]).map(|(a, b)| a * b).sum())
                .collect()
        })
        .collect();
    let total: f64 = (0..n).map(|i| gram[i][i]).sum();
    let vectors = jacobi_eigenvectors(&mut gram);
    let top = (0..n)
        .max_by(|&a, &b| gram[a][a].total_cmp(&gram[b][b]))
        .expect("at least one text");
    let weights: Vec<f64> = (0..n).map(|i| vectors[i][top]).collect();
    let d = centred[0].len();
    let direction: Vec<f64> = (0..d)
        .map(|j| (0..n).map(|i| weights[i] * centred[i][j]).sum())
        .collect();
    let explained = if total > 0.0 {
        gram[top][top] / total
    } else {
        0.0
    };
    (unit(direction), explained)
}

/// Diagonalises the symmetric `a` in place (its diagonal becomes the eigenvalues) and returns
/// the eigenvectors as columns.
fn jacobi_eigenvectors(a: &mut [Vec<f64>]) -> Vec<Vec<f64>> {
    let n = a.len();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    let scale: f64 = a.iter().flatten().map(|x| x * x).sum::<f64>().sqrt();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-15 * scale.max(f64::MIN_POSITIVE) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q] == 0.0 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let (akp, akq) = (row[p], row[q]);
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                let (row_p, row_q) = (a[p].clone(), a[q].clone());
                a[p] = row_p
                    .iter()
                    .zip(&row_q)
                    .map(|(x, y)| c * x - s * y)
                    .collect();
                a[q] = row_p
                    .iter()
                    .zip(&row_q)
                    .map(|(x, y)| s * x + c * y)
                    .collect();
                for row in v.iter_mut() {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_component_of_points_on_a_line_is_that_line() {
        // Points along (3, 4)/5 with a little noise across it.
        let vectors: Vec<Vec<f64>> = [-2.0, -1.0, 0.5, 1.0, 1.5]
            .iter()
            .zip([0.01, -0.02, 0.0, 0.02, -0.01])
            .map(|(t, e)| vec![3.0 * t / 5.0 - 4.0 * e / 5.0, 4.0 * t / 5.0 + 3.0 * e / 5.0])
            .collect();
        let found = find(&vectors, Method::Pca);
        // The first point projects positive: the direction points towards it.
        assert!(
            (found.direction[0] + 0.6).abs() < 1e-3,
            "{:?}",
            found.direction
        );
        assert!(
            (found.direction[1] + 0.8).abs() < 1e-3,
            "{:?}",
            found.direction
        );
        assert!(found.projections[0] > 0.0);
        assert!(found.explained.unwrap() > 0.999);
        let centred_first = -2.0 - 0.0;
        assert!((found.projections[0] + centred_first).abs() < 1e-2);
    }

    #[test]
    fn too_few_or_too_many_texts_are_refused_before_anything_runs() {
        let params = |n: usize| Params {
            texts: vec![PromptInput::Ids(vec![1]); n],
            hook: "blocks.0.hook_resid_post".parse().unwrap(),
            method: Method::Pca,
            prepend_bos: false,
        };
        assert_eq!(params(1).check().unwrap_err().field, "texts");
        assert!(params(MAX_TEXTS).check().is_ok());
        let err = params(MAX_TEXTS + 1).check().unwrap_err();
        assert_eq!(
            err.message,
            "513 texts: a direction is found from at most 512"
        );
    }

    #[test]
    fn jacobi_finds_the_eigenvalues_of_a_symmetric_matrix() {
        let mut a = vec![
            vec![4.0, 1.0, 2.0],
            vec![1.0, 3.0, 0.5],
            vec![2.0, 0.5, 5.0],
        ];
        let original = a.clone();
        let v = jacobi_eigenvectors(&mut a);
        for k in 0..3 {
            let lambda = a[k][k];
            for i in 0..3 {
                let av: f64 = (0..3).map(|j| original[i][j] * v[j][k]).sum();
                assert!((av - lambda * v[i][k]).abs() < 1e-10);
            }
        }
        let trace: f64 = (0..3).map(|k| a[k][k]).sum();
        assert!((trace - 12.0).abs() < 1e-10);
    }

    #[test]
    fn the_mean_difference_points_from_the_second_half_to_the_first() {
        let vectors = vec![
            vec![2.0, 0.0],
            vec![2.0, 1.0],
            vec![0.0, 0.0],
            vec![0.0, 1.0],
        ];
        let found = find(&vectors, Method::MeanDifference);
        assert_eq!(found.direction, vec![1.0, 0.0]);
        assert_eq!(found.projections, vec![1.0, 1.0, -1.0, -1.0]);
        assert_eq!(found.explained, None);
    }
}
