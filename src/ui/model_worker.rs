//! The page's end of the model's Web Worker (`crate::worker`): requests go out as messages,
//! and each call hears its events (status, progress, tokens) until its reply or error. The
//! page itself never runs the model, so it keeps drawing whatever the model does.

use super::js::{send_to_worker, start_model_worker};
use crate::session::{Ask, Event, Failure, FromWorker, Reply, Request, ToWorker};
use futures_channel::oneshot;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

struct Pending {
    on_event: Box<dyn FnMut(Event)>,
    reply: oneshot::Sender<Result<Reply, Failure>>,
}

struct Inner {
    worker: Option<web_sys::Worker>,
    /// Messages held until the worker says it is ready.
    queue: RefCell<Vec<(String, js_sys::Array)>>,
    ready: Cell<bool>,
    /// Why the worker stopped, once it has.
    failed: RefCell<Option<String>>,
    next_id: Cell<u32>,
    pending: RefCell<HashMap<u32, Pending>>,
}

/// The model's worker, shared by every panel.
#[derive(Clone)]
pub struct ModelWorker(Rc<Inner>);

impl ModelWorker {
    /// Starts the worker; `on_news` hears what concerns the whole app (ready, a lost device, a
    /// crash) as it happens.
    pub fn start(on_news: impl Fn(Event) + 'static) -> Self {
        let on_news = Rc::new(on_news);
        let inner = Rc::new_cyclic(|weak: &std::rc::Weak<Inner>| {
            let on_message = {
                let (weak, on_news) = (weak.clone(), on_news.clone());
                Closure::<dyn FnMut(String)>::new(move |text: String| {
                    if let Some(inner) = weak.upgrade() {
                        ModelWorker(inner).receive(&text, &*on_news);
                    }
                })
            };
            let on_failure = {
                let (weak, on_news) = (weak.clone(), on_news.clone());
                Closure::<dyn FnMut(String)>::new(move |why: String| {
                    if let Some(inner) = weak.upgrade() {
                        let message = format!("the model's worker failed: {why}");
                        ModelWorker(inner).fail(&message);
                        on_news(Event::Crashed { message });
                    }
                })
            };
            let started = start_model_worker(&wasm_bindgen::module(), &on_message, &on_failure);
            on_message.forget();
            on_failure.forget();
            let (worker, failed) = match started {
                Ok(worker) => (Some(worker), None),
                Err(e) => (
                    None,
                    Some(format!("the model's worker could not start: {e:?}")),
                ),
            };
            Inner {
                worker,
                queue: RefCell::new(vec![]),
                ready: Cell::new(false),
                failed: RefCell::new(failed),
                next_id: Cell::new(1),
                pending: RefCell::new(HashMap::new()),
            }
        });
        if let Some(message) = inner.failed.borrow().clone() {
            on_news(Event::Crashed { message });
        }
        Self(inner)
    }

    fn receive(&self, text: &str, on_news: &dyn Fn(Event)) {
        let FromWorker { id, event } = match serde_json::from_str::<FromWorker>(text) {
            Ok(message) => message,
            Err(e) => {
                // The call it answers ends with the error instead of waiting for ever.
                let why = format!("the model's worker sent what this page cannot read ({e})");
                web_sys::console::error_1(&why.clone().into());
                let id = serde_json::from_str::<serde_json::Value>(text)
                    .ok()
                    .and_then(|v| v["id"].as_u64());
                let pending = id.and_then(|id| self.0.pending.borrow_mut().remove(&(id as u32)));
                if let Some(pending) = pending {
                    let _ = pending.reply.send(Err(Failure::internal(why)));
                }
                return;
            }
        };
        if id == 0 {
            match &event {
                Event::Ready { .. } => {
                    self.0.ready.set(true);
                    let Some(worker) = &self.0.worker else { return };
                    for (message, files) in self.0.queue.take() {
                        send_to_worker(worker, &message, &files);
                    }
                }
                Event::Crashed { message } => self.fail(message),
                // Work on the lost device never finishes: its calls end now, with the reason.
                Event::DeviceLost { why } => self.end_calls(Failure::Device {
                    message: format!("the GPU device was lost ({why})"),
                }),
                _ => {}
            }
            on_news(event);
            return;
        }
        let outcome = match event {
            Event::Done(reply) => Ok(*reply),
            Event::Failed(failure) => Err(failure),
            event => {
                // Taken out while it runs: the callback may start another call.
                let pending = self.0.pending.borrow_mut().remove(&id);
                if let Some(mut pending) = pending {
                    (pending.on_event)(event);
                    self.0.pending.borrow_mut().insert(id, pending);
                }
                return;
            }
        };
        if let Some(pending) = self.0.pending.borrow_mut().remove(&id) {
            let _ = pending.reply.send(outcome);
        }
    }

    /// Stops the worker: its calls in flight end, and later ones at once.
    pub fn terminate(&self) {
        if let Some(worker) = &self.0.worker {
            worker.terminate();
        }
        self.fail("the worker was stopped");
    }

    /// Every call in flight ends with `message`, and later ones at once.
    fn fail(&self, message: &str) {
        self.0.failed.replace(Some(message.to_string()));
        self.end_calls(Failure::internal(message));
    }

    /// Every call in flight ends with `failure`.
    fn end_calls(&self, failure: Failure) {
        let pending: Vec<Pending> = self
            .0
            .pending
            .borrow_mut()
            .drain()
            .map(|(_, p)| p)
            .collect();
        for pending in pending {
            let _ = pending.reply.send(Err(failure.clone()));
        }
    }

    /// Sends `request`, with no files and no ear for its events; resolves to its answer.
    pub fn ask<Q: Ask>(
        &self,
        request: Q,
    ) -> impl Future<Output = Result<Q::Answer, Failure>> + use<Q> {
        let (_, outcome) = self.call(request.into(), vec![], |_| {});
        async move {
            let reply = outcome.await?;
            Q::answer(&reply)
                .cloned()
                .ok_or_else(|| Failure::internal("the model's worker answered another request"))
        }
    }

    /// Sends `request` (with `files` for a load from local files); `on_event` hears its
    /// events until the reply. Returns the call's id (to cancel it) and its outcome.
    pub fn call<F: FnMut(Event) + 'static>(
        &self,
        request: Request,
        files: Vec<web_sys::File>,
        on_event: F,
    ) -> (u32, impl Future<Output = Result<Reply, Failure>> + use<F>) {
        let id = self.0.next_id.get();
        self.0.next_id.set(id + 1);
        let (reply, outcome) = oneshot::channel();
        if let Some(why) = self.0.failed.borrow().clone() {
            let _ = reply.send(Err(Failure::internal(why)));
        } else {
            self.0.pending.borrow_mut().insert(
                id,
                Pending {
                    on_event: Box::new(on_event),
                    reply,
                },
            );
            let message = serde_json::to_string(&ToWorker::Call {
                id,
                request: Box::new(request),
            })
            .expect("requests serialise");
            self.send(message, files.into_iter().collect());
        }
        let outcome = async move {
            outcome
                .await
                .unwrap_or_else(|_| Err(Failure::internal("the model's worker went away")))
        };
        (id, outcome)
    }

    /// Asks the worker to stop call `id` (it ends with an error saying so).
    pub fn cancel(&self, id: u32) {
        let message = serde_json::to_string(&ToWorker::Cancel { id }).expect("serialises");
        self.send(message, js_sys::Array::new());
    }

    fn send(&self, message: String, files: js_sys::Array) {
        match &self.0.worker {
            Some(worker) if self.0.ready.get() => send_to_worker(worker, &message, &files),
            Some(_) => self.0.queue.borrow_mut().push((message, files)),
            None => {}
        }
    }
}
