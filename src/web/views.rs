//! The debug overlay and the privacy panel are ES modules beside the loader
//! (`www/leadscore_debug.js`, `www/leadscore_privacy.js`), imported the
//! first time one is shown, so neither weighs on a visitor's first load. A
//! view draws a model, plain data the shell builds from the session, as
//! text in a shadow root; the panel's buttons report through the inlet.

use crate::prelude::*;
use js_sys::Function;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use super::dom::{self, Callback};
use super::inlet::{Inlet, Input, Part};

#[wasm_bindgen]
extern "C" {
    /// A view's module: `open(act)` builds the view and returns it.
    type Module;
    #[wasm_bindgen(method, catch)]
    fn open(this: &Module, act: &Function) -> Result<Drawn, JsValue>;

    /// An open view: `draw(model)` replaces its text, `close()` removes it.
    #[derive(Clone)]
    pub(crate) type Drawn;
    #[wasm_bindgen(method, catch)]
    fn draw(this: &Drawn, model: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn close(this: &Drawn) -> Result<JsValue, JsValue>;
}

/// One view's life: not shown, its module on the way, or open.
#[derive(Default)]
pub(crate) enum View {
    #[default]
    Closed,
    Loading,
    Open(Shown),
}

/// An open view and the callback its buttons call, freed together.
pub(crate) struct Shown {
    drawn: Drawn,
    _act: Callback<dyn FnMut(JsValue)>,
}

fn file(part: Part) -> &'static str {
    match part {
        Part::Overlay => "debug",
        Part::Panel => "privacy",
    }
}

/// Starts importing `part`'s module; the inlet hears [`Input::Loaded`] when
/// it is there, with `null` if it could not be loaded.
pub(crate) fn load(part: Part, inlet: &Inlet) -> View {
    let Some(promise) = dom::load_part(file(part)) else {
        dom::warn(&cat!("leadscore_", file(part), ".js cannot be loaded on this page"));
        return View::Closed;
    };
    let (ok, failed) = (inlet.clone(), inlet.clone());
    dom::then(
        &promise,
        move |module| ok.push(Input::Loaded(part, module)),
        move |_| failed.push(Input::Loaded(part, JsValue::NULL)),
    );
    View::Loading
}

/// Opens the view a loaded module builds (`None`, with a console line, if
/// it is not one).
pub(crate) fn open(part: Part, module: &JsValue, inlet: &Inlet) -> Option<Shown> {
    let inlet = inlet.clone();
    let act: Box<dyn FnMut(JsValue)> = Box::new(move |what: JsValue| match what.as_string().as_deref() {
        Some("erase") => inlet.push(Input::ErasePanel),
        Some("close") => inlet.push(Input::ClosePanel),
        _ => {}
    });
    let act = Callback::new(Closure::wrap(act))?;
    let drawn = match module.is_object() {
        true => module.unchecked_ref::<Module>().open(act.function()).ok(),
        false => None,
    };
    let Some(drawn) = drawn else {
        dom::warn(&cat!("leadscore_", file(part), ".js could not be loaded"));
        return None;
    };
    Some(Shown { drawn, _act: act })
}

impl View {
    /// The open view, to draw with nothing of the widget's borrowed.
    pub(crate) fn drawn(&self) -> Option<Drawn> {
        match self {
            View::Open(shown) => Some(shown.drawn.clone()),
            _ => None,
        }
    }
}

impl Shown {
    pub(crate) fn close(&self) {
        let _ = self.drawn.close();
    }
}

/// Draws `model` in an open view.
pub(crate) fn draw(drawn: &Drawn, model: &JsValue) {
    let _ = drawn.draw(model);
}
