//! The visitor's privacy panel opens from any element marked
//! `data-leadscore-privacy`; the panel itself (`www/leadscore_privacy.js`)
//! is loaded then, not before.

use super::dom::{closest, document, Listener};
use super::inlet::{Inlet, Input};

/// The attribute that opens the panel on click.
const SELECTOR: &str = "[data-leadscore-privacy]";

/// Listens for clicks on `[data-leadscore-privacy]`. Not passive: the click
/// opens the panel instead of following the link.
pub(crate) fn install(inlet: &Inlet) -> Option<Listener> {
    let document = document()?;
    let inlet = inlet.clone();
    Listener::new(&document, "click", true, false, move |event| {
        if closest(event.target(), SELECTOR).is_some() {
            event.prevent_default();
            inlet.push(Input::OpenPanel);
        }
    })
}
