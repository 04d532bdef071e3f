//! The experiment being edited and the run in flight, in context: the editor's spec text, the
//! run's progress and what it streams, and what a finished run becomes (the opened result and a
//! record in the history). The panels read it; what they do goes through its operations.

use super::panels::history;
use super::pool::Pool;
use super::views::{View, Views};
use super::{AppState, ModelCall};
use crate::experiments::{Filling, Grid};
use crate::failure::Failure;
use crate::history::RunRecord;
use crate::session::{Event, RunSpec};
use crate::spec::{Spec, TokenChoice};
use leptos::prelude::*;
use std::rc::Rc;

/// Where the page goes when a run starts.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum OnStart {
    /// To the results, which the run fills as it goes.
    ShowResults,
    /// Nowhere: the run was started from a lesson, which writes its answer beside the step.
    Stay,
}

#[derive(Clone, Copy)]
pub struct Workbench {
    /// The spec in the editor, as JSON text (the form and the JSON editor both write it).
    pub spec_text: RwSignal<String>,
    /// Its title, if it parses: read by the run bar and the editor, parsed once per edit.
    title: Memo<Option<String>>,
    /// Why the spec in the editor cannot run, after Run was pressed.
    problem: RwSignal<Option<Failure>>,
    /// Cells (or prompts) done and in all, while a run is in flight.
    progress: RwSignal<(usize, usize)>,
    /// The grid so far while a sweep runs.
    live: RwSignal<Option<Grid>>,
    /// Continuations as their tokens arrive (generation and steering), until the run ends.
    streamed: RwSignal<Vec<(String, Vec<TokenChoice>)>>,
    call: ModelCall<RunSpec>,
    /// What the record of the run in flight is named after: its title and model.
    running: StoredValue<Option<(String, String)>, LocalStorage>,
    state: AppState,
    /// The page's views (none in an embed, which is one view).
    views: Option<Views>,
    /// How many workers share a sweep's cells (1: the page's worker alone).
    pub workers: RwSignal<usize>,
    pool: StoredValue<Pool, LocalStorage>,
    /// Whether the spec in the editor sweeps cells a pool can share (reactive).
    sweeps: Memo<bool>,
}

/// The grid so far while a sweep runs, as the experiment names it: cells in row-major order,
/// `NaN` where not yet computed.
fn partial_grid(values: &[f32], grid: &Filling) -> Grid {
    let mut all = values.to_vec();
    all.resize(grid.shape.iter().product(), f32::NAN);
    let axes: Vec<&str> = grid.axes.iter().map(String::as_str).collect();
    Grid::new(&axes, grid.shape.clone(), all)
}

fn new_run_id() -> String {
    format!(
        "{:x}-{:08x}",
        js_sys::Date::now() as u64,
        (js_sys::Math::random() * u32::MAX as f64) as u32
    )
}

impl Workbench {
    /// A workbench with `spec` in the editor; with `autorun`, it runs it once a model is loaded
    /// (links and embeds with `run`).
    pub fn new(state: AppState, views: Option<Views>, spec: String, autorun: bool) -> Self {
        let spec_text = RwSignal::new(spec);
        let parsed = Memo::new(move |_| {
            Spec::from_json(&spec_text.get())
                .ok()
                .map(|s| (s.title, s.experiment.sweeps_cells()))
        });
        let title = Memo::new(move |_| {
            parsed
                .get()
                .map(|(title, _)| title)
                .filter(|t| !t.is_empty())
        });
        let sweeps = Memo::new(move |_| parsed.get().is_some_and(|(_, sweeps)| sweeps));
        let bench = Self {
            spec_text,
            title,
            problem: RwSignal::new(None),
            progress: RwSignal::new((0, 0)),
            live: RwSignal::new(None),
            streamed: RwSignal::new(vec![]),
            call: ModelCall::new(state),
            running: StoredValue::new_local(None),
            state,
            views,
            workers: RwSignal::new(1),
            pool: StoredValue::new_local(Pool::default()),
            sweeps,
        };
        bench.keep_finished_runs();
        // The pool's workers hold the model they loaded: none is kept past it.
        let pool = bench.pool;
        Effect::new(move |previous: Option<Option<String>>| {
            let holding = state.session.get().map(|s| s.weights_sha256.clone());
            if previous.is_some_and(|p| p != holding) {
                pool.with_value(Pool::clear);
            }
            holding
        });
        let autorun = StoredValue::new(autorun);
        Effect::new(move |_| {
            if state.session.get().is_some() && autorun.get_value() {
                autorun.set_value(false);
                bench.start(OnStart::ShowResults);
            }
        });
        bench
    }

    /// Each run that ends: its result is opened and kept in the history.
    fn keep_finished_runs(self) {
        let Self {
            call,
            live,
            streamed,
            running,
            state,
            ..
        } = self;
        Effect::new(move |_| {
            call.version();
            let result = untrack(|| {
                if call.pending() {
                    return None;
                }
                live.set(None);
                streamed.set(vec![]);
                call.with_answer(|result| Some(result.clone()))
            });
            let (Some(result), Some((title, model))) = (result, running.get_value()) else {
                return;
            };
            running.set_value(None);
            let record = RunRecord {
                id: new_run_id(),
                name: if title.is_empty() {
                    "untitled run".into()
                } else {
                    title
                },
                pinned: false,
                created_ms: js_sys::Date::now(),
                model,
                result,
            };
            state.opened.set(Some(Rc::new(record.clone())));
            leptos::task::spawn_local(history::keep(state, record));
        });
    }

    fn show(&self, view: View) {
        if let Some(views) = self.views {
            views.show(view);
        }
    }

    /// Runs the spec in the editor on the loaded model; a spec that does not parse is shown
    /// beside the editor instead.
    pub fn start(&self, then: OnStart) {
        let Some(session) = self.state.session.get_untracked() else {
            return;
        };
        let spec = match Spec::from_json(&self.spec_text.get_untracked()) {
            Ok(spec) => spec,
            Err(e) => {
                self.problem.set(Some(Failure::from(e)));
                self.show(View::Experiment);
                return;
            }
        };
        let Self {
            problem,
            progress,
            live,
            streamed,
            ..
        } = *self;
        problem.set(None);
        live.set(None);
        progress.set((0, 0));
        streamed.set(vec![]);
        let on_event = move |event| match event {
            Event::Progress {
                done,
                total,
                values,
                grid,
            } => {
                progress.set((done, total));
                // (Experiments that fill no grid cell by cell, such as edge attribution, show none.)
                live.set(grid.map(|grid| partial_grid(&values, &grid)));
            }
            Event::Token(new) => streamed.update(|all| {
                if all.len() <= new.run {
                    all.push((new.name.to_string(), vec![]));
                }
                all[new.run].1.push(new.choice);
            }),
            _ => {}
        };
        self.running
            .set_value(Some((spec.title.clone(), session.name.clone())));
        let workers = self.workers.get_untracked();
        if workers > 1 && spec.experiment.sweeps_cells() {
            let pool = self.pool.get_value();
            self.call
                .run_pooled(RunSpec::new(spec), pool, workers, on_event);
        } else {
            self.call.run(RunSpec::new(spec), on_event);
        }
        if then == OnStart::ShowResults {
            self.show(View::Results);
        }
    }

    pub fn cancel(&self) {
        self.call.cancel();
    }

    /// Whether a run is in flight (reactive).
    pub fn busy(&self) -> bool {
        self.call.pending()
    }

    /// Cells done and in all while a run is in flight (reactive).
    pub fn progress(&self) -> (usize, usize) {
        self.progress.get()
    }

    /// Why the spec in the editor could not start (reactive).
    pub fn problem(&self) -> Option<Failure> {
        self.problem.get()
    }

    /// Why the last run failed, unless the editor's spec is what is wrong now (reactive).
    pub fn run_failure(&self) -> Option<Failure> {
        match self.problem.get() {
            Some(_) => None,
            None => self.call.failure(),
        }
    }

    /// The grid so far while a sweep runs (reactive).
    pub fn live(&self) -> Option<Grid> {
        self.live.get()
    }

    /// Continuations as their tokens arrive (reactive).
    pub fn streamed(&self) -> Vec<(String, Vec<TokenChoice>)> {
        self.streamed.get()
    }

    /// Whether the editor's spec sweeps cells a worker pool can share (reactive).
    pub fn sweeps(&self) -> bool {
        self.sweeps.get()
    }

    /// The editor's spec's title, if it parses (reactive).
    pub fn title(&self) -> Option<String> {
        self.title.get()
    }

    /// Puts `json` in the editor and the editor on screen: a next step, ready to run or change.
    pub fn edit(&self, json: String) {
        self.spec_text.set(json);
        self.show(View::Experiment);
    }
}
