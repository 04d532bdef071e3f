//! A sweep's cells shared among a pool of the model's workers (`experiments::shares`), each with
//! its own copy of the model: WebAssembly has no threads in the browser, but workers run on
//! cores of their own. The page's model worker computes share 0; the others are started on the
//! first pooled run, load the model the page loaded (from the browser's cache, or the same
//! files), and stay until another model is loaded. A run past the tab's memory budget is
//! refused before any worker starts.

use super::AppState;
use super::model_worker::ModelWorker;
use crate::experiments::shares::{merge, merge_partial};
use crate::experiments::{Filling, Share, SweptShare};
use crate::session::{Ask, Event, Failure, Load, ModelInfo, Reply, RunShare, RunSpec};
use crate::spec::Spec;
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Where the page loaded its model from: what a new member of the pool loads.
#[derive(Clone)]
pub struct LoadedFrom {
    pub load: Load,
    pub files: Vec<web_sys::File>,
}

/// The workers beside the page's own, shared by every pooled run.
#[derive(Clone, Default)]
pub struct Pool(Rc<Inner>);

#[derive(Default)]
struct Inner {
    helpers: RefCell<Vec<ModelWorker>>,
    /// The model the helpers hold (its weights' sha256).
    holding: RefCell<Option<String>>,
    /// A helper crashed or lost its device: the pool starts afresh next time.
    broken: Rc<Cell<bool>>,
    /// Calls in flight, for Cancel.
    calls: RefCell<Vec<(ModelWorker, u32)>>,
}

/// The device's memory as the browser reports it (`navigator.deviceMemory`, in GiB).
pub fn device_memory() -> Option<u64> {
    let navigator = web_sys::window()?.navigator();
    let gib = js_sys::Reflect::get(&navigator, &"deviceMemory".into())
        .ok()?
        .as_f64()?;
    (gib > 0.0).then_some((gib * (1u64 << 30) as f64) as u64)
}

/// The logical cores the browser reports.
pub fn cores() -> usize {
    web_sys::window()
        .map(|w| w.navigator().hardware_concurrency() as usize)
        .unwrap_or(1)
        .max(1)
}

impl Pool {
    /// Stops every helper (another model was loaded, or one failed).
    pub fn clear(&self) {
        for helper in self.0.helpers.take() {
            helper.terminate();
        }
        self.0.holding.replace(None);
        self.0.broken.set(false);
    }

    /// Asks every worker of the run in flight to stop.
    pub fn cancel(&self) {
        for (worker, id) in self.0.calls.borrow().iter() {
            worker.cancel(*id);
        }
    }

    /// Runs `spec` with its sweeps shared among `workers` workers: each computes its share of
    /// the cells, then the page's worker writes the result from the merged values, as one
    /// worker's run would.
    pub async fn run(
        &self,
        state: AppState,
        source: Option<LoadedFrom>,
        spec: Spec,
        workers: usize,
        on_event: Rc<dyn Fn(Event)>,
    ) -> Result<Reply, Failure> {
        let info = state
            .session
            .get_untracked()
            .ok_or_else(|| Failure::input("load a model first"))?;
        info.pool_memory(device_memory())
            .check(workers)
            .map_err(|e| Failure::input(e.to_string()))?;
        Share::new(0, workers).map_err(|e| Failure::input(e.to_string()))?;
        let main = state.worker();
        let mut members = vec![main.clone()];
        members.extend(self.helpers(&info, source, workers - 1, &on_event).await?);
        let outcome = self.shares(&members, &spec, &on_event).await;
        let shares = match outcome {
            Ok(shares) => shares,
            Err(failure) => {
                self.cancel();
                self.0.calls.borrow_mut().clear();
                return Err(failure);
            }
        };
        let swept = merge(&shares).map_err(|e| Failure::internal(e.to_string()))?;
        let mut request = RunSpec::new(spec);
        request.swept = Some(swept);
        let (id, outcome) = main.call(request.into(), vec![], move |event| on_event(event));
        self.0.calls.replace(vec![(main, id)]);
        let reply = outcome.await;
        self.0.calls.borrow_mut().clear();
        reply
    }

    /// `count` helpers holding the model `info` names, started and loaded where missing.
    async fn helpers(
        &self,
        info: &ModelInfo,
        source: Option<LoadedFrom>,
        count: usize,
        on_event: &Rc<dyn Fn(Event)>,
    ) -> Result<Vec<ModelWorker>, Failure> {
        if self.0.broken.get() || self.0.holding.borrow().as_deref() != Some(&info.weights_sha256) {
            self.clear();
        }
        let have = self.0.helpers.borrow().len();
        if have > count {
            // Idle helpers would hold memory the budget did not count.
            for helper in self.0.helpers.borrow_mut().split_off(count) {
                helper.terminate();
            }
        }
        if have < count {
            let source = source.ok_or_else(|| {
                Failure::input("load the model again to share the sweep among workers")
            })?;
            let new = count - have;
            on_event(Event::Status {
                text: format!("loading the model in {new} more worker{}…", plural(new)),
            });
            let started: Vec<ModelWorker> = (0..new)
                .map(|_| {
                    let broken = self.0.broken.clone();
                    ModelWorker::start(move |news| {
                        if matches!(news, Event::Crashed { .. } | Event::DeviceLost { .. }) {
                            broken.set(true);
                        }
                    })
                })
                .collect();
            let loads: Vec<_> = started
                .iter()
                .map(|worker| {
                    let (id, outcome) =
                        worker.call(source.load.clone().into(), source.files.clone(), |_| {});
                    self.0.calls.borrow_mut().push((worker.clone(), id));
                    outcome
                })
                .collect();
            let mut failed = None;
            for outcome in loads {
                match outcome.await {
                    Ok(Reply::Loaded(loaded)) if loaded.weights_sha256 == info.weights_sha256 => {}
                    Ok(_) => {
                        failed.get_or_insert(Failure::input(
                            "a worker of the pool loaded other weights than the page's model: load the model again",
                        ));
                    }
                    Err(failure) => {
                        failed.get_or_insert(failure);
                    }
                }
            }
            self.0.calls.borrow_mut().clear();
            if let Some(failure) = failed {
                for worker in started {
                    worker.terminate();
                }
                return Err(failure);
            }
            self.0.helpers.borrow_mut().extend(started);
            self.0.holding.replace(Some(info.weights_sha256.clone()));
        }
        Ok(self.0.helpers.borrow()[..count].to_vec())
    }

    /// Every member's share of the sweeps, in share order; their progress merged into one.
    async fn shares(
        &self,
        members: &[ModelWorker],
        spec: &Spec,
        on_event: &Rc<dyn Fn(Event)>,
    ) -> Result<Vec<Vec<SweptShare>>, Failure> {
        let of = members.len();
        let progress = Rc::new(RefCell::new(MergedProgress::new(of)));
        let outcomes: Vec<_> = members
            .iter()
            .enumerate()
            .map(|(index, worker)| {
                let request = RunShare {
                    spec: Box::new(spec.clone()),
                    share: Share { index, of },
                };
                let (progress, on_event) = (progress.clone(), on_event.clone());
                let (id, outcome) = worker.call(request.into(), vec![], move |event| match event {
                    Event::Progress {
                        done,
                        total,
                        values,
                        grid,
                    } => {
                        let merged = progress
                            .borrow_mut()
                            .update(index, done, total, values, grid);
                        on_event(merged);
                    }
                    Event::Status { .. } if index == 0 => on_event(event),
                    _ => {}
                });
                self.0.calls.borrow_mut().push((worker.clone(), id));
                outcome
            })
            .collect();
        let mut shares = Vec::with_capacity(of);
        for outcome in outcomes {
            let reply = outcome.await?;
            let swept = RunShare::answer(&reply)
                .cloned()
                .ok_or_else(|| Failure::internal("a worker answered another request"))?;
            shares.push(swept);
        }
        self.0.calls.borrow_mut().clear();
        Ok(shares)
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A share's last progress report: cells done and in all, its cells' values, the grid.
#[derive(Clone)]
struct ShareProgress {
    done: usize,
    total: usize,
    values: Vec<f32>,
    grid: Option<Filling>,
}

/// The pool's progress as one sweep's: cells done in all shares, and the grid so far.
struct MergedProgress {
    shares: Vec<Option<ShareProgress>>,
}

impl MergedProgress {
    fn new(of: usize) -> Self {
        Self {
            shares: vec![None; of],
        }
    }

    fn update(
        &mut self,
        index: usize,
        done: usize,
        total: usize,
        values: Vec<f32>,
        grid: Option<Filling>,
    ) -> Event {
        self.shares[index] = Some(ShareProgress {
            done,
            total,
            values,
            grid: grid.clone(),
        });
        let (done, total) = self
            .shares
            .iter()
            .flatten()
            .fold((0, 0), |(d, t), share| (d + share.done, t + share.total));
        // Shares still on another sweep add nothing to this one's picture.
        let values = match &grid {
            Some(filling) => {
                let parts: Vec<Vec<f32>> = self
                    .shares
                    .iter()
                    .map(|share| match share {
                        Some(share) if share.grid.as_ref() == Some(filling) => share.values.clone(),
                        _ => vec![],
                    })
                    .collect();
                merge_partial(&parts, filling.shape.iter().product())
            }
            None => vec![],
        };
        Event::Progress {
            done,
            total,
            values,
            grid,
        }
    }
}
