//! A panel's request to the model as a Leptos [`Action`]: pending while it runs, its answer or
//! error once it ends (kept until the next one ends), and Stop/Cancel. Each dispatch brings
//! its handler for what the worker says meanwhile (progress, tokens, download bytes). A call
//! is typed by its request ([`Ask`]): the panel reads the request's answer.

use super::AppState;
use super::pool::Pool;
use crate::session::{Ask, Event, Failure, Reply, Request};
use leptos::prelude::*;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;

/// One dispatch: the request, the files travelling with it, its event handler, and for a
/// spec's run shared among workers the pool and how many.
struct Dispatch {
    request: Request,
    files: Vec<web_sys::File>,
    on_event: Rc<dyn Fn(Event)>,
    pooled: Option<(Pool, usize)>,
}

/// What is in flight, for cancelling it.
#[derive(Clone)]
enum InFlight {
    /// A call to the page's worker, by its id.
    Call(u32),
    Pool(Pool),
}

type Outcome = Pin<Box<dyn Future<Output = Result<Reply, Failure>>>>;

/// The request of type `Q` a panel runs, and its outcome.
pub struct ModelCall<Q> {
    action: Action<Dispatch, Result<Reply, Failure>>,
    in_flight: StoredValue<Option<InFlight>, LocalStorage>,
    state: AppState,
    asks: PhantomData<fn() -> Q>,
}

impl<Q> Clone for ModelCall<Q> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Q> Copy for ModelCall<Q> {}

impl<Q: Ask + 'static> ModelCall<Q> {
    pub fn new(state: AppState) -> Self {
        let in_flight = StoredValue::new_local(None);
        let action = Action::new_local(move |dispatch: &Dispatch| -> Outcome {
            let on_event = dispatch.on_event.clone();
            if let (Some((pool, workers)), Request::Run(run)) =
                (&dispatch.pooled, &dispatch.request)
            {
                let (pool, workers, spec) = (pool.clone(), *workers, (*run.spec).clone());
                in_flight.set_value(Some(InFlight::Pool(pool.clone())));
                let source = state.model_source.get_value();
                return Box::pin(async move {
                    let outcome = pool.run(state, source, spec, workers, on_event).await;
                    in_flight.set_value(None);
                    outcome
                });
            }
            let (call, outcome) = state.worker().call(
                dispatch.request.clone(),
                dispatch.files.clone(),
                move |event| on_event(event),
            );
            in_flight.set_value(Some(InFlight::Call(call)));
            Box::pin(async move {
                let outcome = outcome.await;
                in_flight.set_value(None);
                outcome
            })
        });
        Self {
            action,
            in_flight,
            state,
            asks: PhantomData,
        }
    }

    /// Sends `request`; `on_event` hears the worker's events until it ends.
    pub fn run(&self, request: Q, on_event: impl Fn(Event) + 'static) {
        self.run_with_files(request, vec![], on_event);
    }

    pub fn run_with_files(
        &self,
        request: Q,
        files: Vec<web_sys::File>,
        on_event: impl Fn(Event) + 'static,
    ) {
        self.action.dispatch_local(Dispatch {
            request: request.into(),
            files,
            on_event: Rc::new(on_event),
            pooled: None,
        });
    }

    /// Sends `request`, a spec's run, with its sweeps shared among `workers` workers of `pool`.
    pub fn run_pooled(
        &self,
        request: Q,
        pool: Pool,
        workers: usize,
        on_event: impl Fn(Event) + 'static,
    ) {
        self.action.dispatch_local(Dispatch {
            request: request.into(),
            files: vec![],
            on_event: Rc::new(on_event),
            pooled: Some((pool, workers)),
        });
    }

    /// Whether a request is in flight (reactive).
    pub fn pending(&self) -> bool {
        self.action.pending().get()
    }

    /// `read` applied to the last answer, kept while the next request runs (reactive).
    pub fn with_answer<T>(&self, read: impl FnOnce(&Q::Answer) -> Option<T>) -> Option<T> {
        self.action.value().with(|v| {
            v.as_ref()
                .and_then(|r| r.as_ref().ok())
                .and_then(Q::answer)
                .and_then(read)
        })
    }

    /// Why the last request failed, while no other runs (reactive).
    pub fn failure(&self) -> Option<Failure> {
        if self.pending() {
            return None;
        }
        self.action
            .value()
            .with(|v| v.as_ref().and_then(|r| r.as_ref().err().cloned()))
    }

    /// What to tell the user of why the last request failed, while no other runs (reactive).
    pub fn error(&self) -> Option<String> {
        self.failure().map(|f| f.to_string())
    }

    /// How many requests have ended (reactive): what an effect on each outcome watches.
    pub fn version(&self) -> usize {
        self.action.version().get()
    }

    /// Asks the worker (or the pool's workers) to stop the request in flight (it ends at its
    /// next yield).
    pub fn cancel(&self) {
        match self.in_flight.get_value() {
            Some(InFlight::Call(id)) => self.state.worker().cancel(id),
            Some(InFlight::Pool(pool)) => pool.cancel(),
            None => {}
        }
    }
}
