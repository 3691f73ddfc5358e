//! Elements marked `data-leadscore-show` revealed at their stage.

use wasm_bindgen::JsCast;

use super::dom::document;
use crate::core::Stage;

/// Reveals `[data-leadscore-show="STAGE"]` elements once the visitor is at
/// that stage or beyond (the loader's stylesheet hides them until then).
pub(crate) fn reveal(stage: Stage) {
    let Some(document) = document() else { return };
    let Ok(elements) = document.query_selector_all("[data-leadscore-show]") else { return };
    for index in 0..elements.length() {
        let Some(element) = elements.item(index).and_then(|node| node.dyn_into::<web_sys::Element>().ok()) else {
            continue;
        };
        let wanted = element.get_attribute("data-leadscore-show").and_then(|name| Stage::parse(name.trim()));
        match wanted {
            Some(wanted) if stage >= wanted => {
                let _ = element.set_attribute("data-leadscore-shown", "");
            }
            _ => {
                let _ = element.remove_attribute("data-leadscore-shown");
            }
        }
    }
}
