//! The page's views: the work in the order it is done (model → prompt → generation → features
//! → experiment → results → history), one on screen at a time, switched by the bar at the top
//! and by the address's fragment (`#results`), so that links, the back button and bookmarks
//! reach a view.

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

/// One of the page's views.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Model,
    Prompt,
    Generation,
    Features,
    Experiment,
    Results,
    History,
}

impl View {
    /// In the switcher's order.
    pub const ALL: [View; 7] = [
        View::Model,
        View::Prompt,
        View::Generation,
        View::Features,
        View::Experiment,
        View::Results,
        View::History,
    ];

    /// The fragment that opens it (`#prompt`).
    pub fn id(self) -> &'static str {
        match self {
            View::Model => "model",
            View::Prompt => "prompt",
            View::Generation => "generation",
            View::Features => "features",
            View::Experiment => "experiment",
            View::Results => "results",
            View::History => "history",
        }
    }

    /// Its name in the switcher.
    pub fn label(self) -> &'static str {
        match self {
            View::Model => "Model",
            View::Prompt => "Prompt",
            View::Generation => "Generate",
            View::Features => "Features",
            View::Experiment => "Experiment",
            View::Results => "Results",
            View::History => "History",
        }
    }

    /// Whether it shows anything before a model is loaded.
    pub fn needs_model(self) -> bool {
        matches!(self, View::Prompt | View::Generation | View::Features)
    }

    /// The view a fragment names (`#results`; the older `#experiment-result` too), if any.
    pub fn from_fragment(fragment: &str) -> Option<View> {
        let id = fragment.strip_prefix('#').unwrap_or(fragment);
        if id == "experiment-result" {
            return Some(View::Results);
        }
        View::ALL.into_iter().find(|view| view.id() == id)
    }
}

/// The view on screen, in context; the address's fragment follows it.
#[derive(Clone, Copy)]
pub struct Views {
    current: RwSignal<View>,
}

fn fragment() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

impl Views {
    /// The view the address names (`otherwise` when it names none), following the fragment
    /// as links and the back button change it.
    pub fn from_address(otherwise: View) -> Self {
        let current = RwSignal::new(View::from_fragment(&fragment()).unwrap_or(otherwise));
        // Back to an address without a view (the page as opened, a share link) is back to the
        // view it opened at.
        let on_change = Closure::<dyn FnMut()>::new(move || {
            current.set(View::from_fragment(&fragment()).unwrap_or(otherwise));
        });
        if let Some(window) = web_sys::window() {
            let _ = window
                .add_event_listener_with_callback("hashchange", on_change.as_ref().unchecked_ref());
        }
        // The listener lives as long as the page.
        on_change.forget();
        Self { current }
    }

    /// The view on screen (reactive).
    pub fn current(&self) -> View {
        self.current.get()
    }

    /// Puts `view` on screen, with its fragment in the address (a step the back button undoes)
    /// and the top of the view in sight.
    pub fn show(&self, view: View) {
        if self.current.get_untracked() == view {
            return;
        }
        self.current.set(view);
        if let Some(window) = web_sys::window() {
            let _ = window.location().set_hash(view.id());
            window.scroll_to_with_x_and_y(0.0, 0.0);
        }
    }
}
