//! A config beyond a preset and its options is read and checked by the
//! config compiler (`src/compiler.rs`), a module of its own that the
//! shipped widget imports the first time a page needs it (as
//! `leadscore_config.js`, through the loader's `view`), so the JSON schema
//! walker is not part of a visitor's first load. Builds with std (the
//! browser tests) parse in place.

use crate::core::Config;
use crate::prelude::*;

/// Told the config, or why there is none, once.
pub(crate) type Done = Box<dyn FnOnce(Result<Config, String>)>;

/// Reads and checks `input` (the tag's attributes and a config text, as
/// [`Config::widget_input`] writes them), and tells `done`.
#[cfg(not(feature = "shipped"))]
pub(crate) fn compile(input: String, done: Done) {
    done(Config::parse_widget_input(&input))
}

#[cfg(feature = "shipped")]
pub(crate) use shipped::compile;

#[cfg(feature = "shipped")]
mod shipped {
    use alloc::rc::Rc;
    use core::cell::Cell;

    use js_sys::{Promise, Uint8Array};
    use wasm_bindgen::prelude::wasm_bindgen;
    use wasm_bindgen::{JsCast, JsValue};

    use crate::core::Config;
    use crate::prelude::*;
    use crate::web::compile::Done;
    use crate::web::dom;

    #[wasm_bindgen]
    extern "C" {
        /// `www/leadscore_config.js`: `compile(text, fetch)` answers with the
        /// compiled config's bytes or the message to log.
        type Compiler;
        #[wasm_bindgen(method, catch)]
        fn compile(this: &Compiler, text: &str, fetch: &JsValue) -> Result<Promise, JsValue>;
    }

    type Once = Rc<Cell<Option<Done>>>;

    fn tell(done: &Once, config: Result<Config, String>) {
        if let Some(done) = done.take() {
            done(config);
        }
    }

    /// Imports the compiler (once per page: the loader's `import()` keeps
    /// it), gives it `text` and tells `done` what it answers.
    pub(crate) fn compile(text: String, done: Done) {
        let Some(module) = dom::load_part("config") else {
            return done(Err("config: leadscore_config.js cannot be loaded on this page".into()));
        };
        let done: Once = Rc::new(Cell::new(Some(done)));
        let unloaded = done.clone();
        dom::then(
            &module,
            move |module| {
                let Ok(answer) = module.unchecked_ref::<Compiler>().compile(&text, &dom::loader_fetch()) else {
                    return tell(&done, Err("config: leadscore_config.js is not the config compiler".into()));
                };
                let failed = done.clone();
                dom::then(
                    &answer,
                    move |answer| tell(&done, read(&answer)),
                    move |_| tell(&failed, Err("config: the config compiler failed (leadscore_config.wasm)".into())),
                );
            },
            move |_| tell(&unloaded, Err("config: leadscore_config.js could not be loaded".into())),
        );
    }

    fn read(answer: &JsValue) -> Result<Config, String> {
        if let Some(message) = answer.as_string() {
            return Err(message);
        }
        match answer.dyn_ref::<Uint8Array>() {
            Some(bytes) => Config::from_bytes(&bytes.to_vec()).map_err(|error| cat!("config: ", error)),
            None => Err("config: the config compiler gave no answer".into()),
        }
    }
}
