//! What the page shows: elements marked `data-leadscore-show` revealed at
//! their stage, and the debug overlay for site owners (shadow DOM, text
//! only: nothing from the config or the page is ever parsed as HTML).

use wasm_bindgen::JsCast;

use super::dom::document;
use crate::core::json::format_fixed;
use crate::core::Stage;
use crate::session::Session;

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

/// The debug panel: a closed shadow root under one host element.
pub(crate) struct Overlay {
    host: web_sys::Element,
    body: web_sys::Element,
}

impl Overlay {
    pub(crate) fn open() -> Option<Overlay> {
        let document = document()?;
        let host = document.create_element("leadscore-debug").ok()?;
        host.set_attribute(
            "style",
            // `all: initial` first: it resets every property, including any
            // set before it, and keeps the page's styles out.
            "all:initial;display:block;position:fixed;right:12px;bottom:12px;z-index:2147483647;max-width:340px",
        )
        .ok()?;
        let root = host.attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Closed)).ok()?;
        let style = document.create_element("style").ok()?;
        style.set_text_content(Some(
            ".p{font:12px/1.45 ui-monospace,Menlo,Consolas,monospace;background:#101828;color:#e4e7ec;\
             border-radius:8px;padding:10px 12px;box-shadow:0 4px 16px #0006;white-space:pre-wrap;\
             max-height:60vh;overflow:auto}",
        ));
        let body = document.create_element("div").ok()?;
        body.set_attribute("class", "p").ok()?;
        root.append_child(&style).ok()?;
        root.append_child(&body).ok()?;
        document.body()?.append_child(&host).ok()?;
        Some(Overlay { host, body })
    }

    /// Redraws the panel as plain text.
    pub(crate) fn render(&self, session: &Session, storage: &str) {
        let Some(engine) = session.engine() else { return };
        let at = super::dom::now();
        let (score, stage) = engine.standing(at);
        let mut text = format!(
            "leadscore · {}\nscore {} · stage {} · grade {}\nconsent {} · storage {}\n",
            engine.config().site(),
            format_fixed(score, 1),
            stage,
            engine.grade(),
            if session.active() { "yes" } else { "no" },
            storage,
        );
        for entry in engine.ledger(at) {
            text.push_str(&format!("  {:<20} {:>7}  ×{}\n", entry.rule_id, format_fixed(entry.points, 1), entry.count));
        }
        let outbox = engine.state().outbox();
        text.push_str(&format!(
            "outbox {} waiting · {} dropped · {} expired · {} refused\n",
            outbox.pending().len(),
            outbox.dropped(),
            outbox.expired(),
            outbox.rejected()
        ));
        for warning in engine.config().warnings() {
            text.push_str(&format!("! {warning}\n"));
        }
        self.body.set_text_content(Some(&text));
    }

    pub(crate) fn close(self) {
        self.host.remove();
    }
}
