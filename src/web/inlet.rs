//! The one way from a browser resource back into the widget: listeners,
//! consent sources and views hold an [`Inlet`] and push [`Input`]s through
//! it; they never see the session or each other. The handle behind it
//! processes inputs one at a time, so an input pushed from inside a
//! callback waits its turn instead of re-entering.

use alloc::rc::Rc;

use wasm_bindgen::JsValue;

use crate::session::{Signal, Source, Verdict};

/// The views loaded on demand.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// The debug overlay (`www/leadscore_debug.js`).
    Overlay,
    /// The visitor's privacy panel (`www/leadscore_privacy.js`).
    Panel,
}

/// What a browser resource reports.
pub(crate) enum Input {
    /// Something the visitor or the page did.
    Signal(Signal),
    /// A consent source spoke.
    Consent(Source, Verdict),
    /// A `[data-leadscore-privacy]` element was clicked.
    OpenPanel,
    /// The privacy panel's Close button.
    ClosePanel,
    /// The privacy panel's "Erase my data" button.
    ErasePanel,
    /// A view's module arrived (`null` when it could not be loaded).
    Loaded(Part, JsValue),
    /// The session's deadline passed.
    Timeout,
}

/// Where inputs go; cheap to clone, and inert once the widget is gone.
#[derive(Clone)]
pub(crate) struct Inlet(Rc<dyn Fn(Input)>);

impl Inlet {
    pub(crate) fn new(sink: impl Fn(Input) + 'static) -> Inlet {
        Inlet(Rc::new(sink))
    }

    pub(crate) fn push(&self, input: Input) {
        (self.0)(input);
    }

    pub(crate) fn signal(&self, signal: Signal) {
        self.push(Input::Signal(signal));
    }
}
