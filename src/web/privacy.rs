//! The visitor's privacy panel: any element marked `data-leadscore-privacy`
//! opens it. It says in plain words what this browser holds about the
//! visitor and whether anything was sent, and offers to erase it all. Text
//! only, in a shadow root so the page's styles cannot garble it; an open
//! one, since it holds nothing the page cannot already read with `explain()`.

use wasm_bindgen::JsCast;

use super::dom::{closest, document, now, Listener};
use super::inlet::{Inlet, Input};
use crate::session::Session;

/// The attribute that opens the panel on click.
const SELECTOR: &str = "[data-leadscore-privacy]";

/// An open panel; its listeners go with it.
pub(crate) struct Panel {
    host: web_sys::Element,
    body: web_sys::Element,
    /// The visitor pressed "Erase my data".
    pub(crate) erased: bool,
    _listeners: Vec<Listener>,
}

impl Panel {
    pub(crate) fn close(self) {
        self.host.remove();
    }
}

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

fn element(document: &web_sys::Document, tag: &str, class: &str) -> Option<web_sys::Element> {
    let element = document.create_element(tag).ok()?;
    element.set_attribute("class", class).ok()?;
    Some(element)
}

/// Builds the panel (text only, in a shadow root); its buttons report to `inlet`.
pub(crate) fn open(inlet: &Inlet) -> Option<Panel> {
    let document = document()?;
    let host = document.create_element("leadscore-privacy").ok()?;
    host.set_attribute("style", "all:initial;position:fixed;inset:0;z-index:2147483647").ok()?;
    let root = host.attach_shadow(&web_sys::ShadowRootInit::new(web_sys::ShadowRootMode::Open)).ok()?;
    let style = document.create_element("style").ok()?;
    style.set_text_content(Some(
        ".shade{position:fixed;inset:0;background:#0006;display:flex;align-items:center;justify-content:center}\
         .box{font:15px/1.5 system-ui,sans-serif;color:#1d2433;background:#fff;border-radius:10px;padding:20px 22px;\
         max-width:480px;width:calc(100% - 32px);box-shadow:0 8px 32px #0005;white-space:pre-wrap;max-height:80vh;overflow:auto}\
         .row{display:flex;gap:8px;justify-content:flex-end;margin-top:14px}\
         button{font:inherit;padding:6px 14px;border-radius:6px;border:1px solid #3b5bdb;cursor:pointer}\
         .erase{background:#3b5bdb;color:#fff}.close{background:#fff;color:#3b5bdb}",
    ));
    let shade = element(&document, "div", "shade")?;
    let dialog = element(&document, "div", "box")?;
    dialog.set_attribute("role", "dialog").ok()?;
    dialog.set_attribute("aria-label", "Your data on this site").ok()?;
    let body = element(&document, "div", "text")?;
    let row = element(&document, "div", "row")?;
    let erase = element(&document, "button", "erase")?;
    erase.set_text_content(Some("Erase my data"));
    let close = element(&document, "button", "close")?;
    close.set_text_content(Some("Close"));
    row.append_child(&erase).ok()?;
    row.append_child(&close).ok()?;
    dialog.append_child(&body).ok()?;
    dialog.append_child(&row).ok()?;
    shade.append_child(&dialog).ok()?;
    root.append_child(&style).ok()?;
    root.append_child(&shade).ok()?;
    document.body()?.append_child(&host).ok()?;
    let (on_erase, on_close) = (inlet.clone(), inlet.clone());
    let listeners = vec![
        Listener::new(&erase, "click", false, true, move |_| on_erase.push(Input::ErasePanel))?,
        Listener::new(&close, "click", false, true, move |_| on_close.push(Input::ClosePanel))?,
    ];
    let _ = dialog.dyn_ref::<web_sys::HtmlElement>().map(|dialog| dialog.focus());
    Some(Panel { host, body, erased: false, _listeners: listeners })
}

/// The panel's text, from what the session holds now.
pub(crate) fn render(panel: &Panel, session: &Session) {
    let Some(engine) = session.engine() else { return };
    let config = engine.config();
    let state = engine.state();
    let mut text = String::from(
        "Your data on this site\n\nThis site estimates your interest in its products from what you do here: \
         pages you view, time on them, downloads and forms. The estimate is made in your own browser; \
         no cookies are used and nothing identifies your device.\n\n",
    );
    if panel.erased {
        text.push_str("Erased. This browser holds nothing about you for this site any more");
        if state.outbox().may_have_sent() || session.erasure_requested() {
            text.push_str(", and the site was asked to erase what it received");
        }
        text.push_str(".\n");
    } else if session.active() {
        let (score, stage) = engine.standing(now());
        text.push_str(&format!(
            "Stored in this browser (local storage, key \"leadscore:{}\"):\n\
             • a random visitor id: {}\n\
             • {} recorded actions, and a summary of older ones\n\
             • your interest score: {} ({})\n",
            config.site(),
            state.visitor_id(),
            state.evidence().len(),
            crate::core::json::format_fixed(score, 0),
            stage_words(stage),
        ));
        for (field, value) in state.identity().iter() {
            text.push_str(&format!("• {}: {value}\n", field.name().replace('_', " ")));
        }
        text.push_str(&format!(
            "It is deleted after {} days without a visit, or when you erase it here.\n\n",
            config.privacy().retention_days
        ));
        if state.outbox().may_have_sent() {
            text.push_str(
                "Sent to the site: when you qualified as a sales lead, your contact details and this \
                 activity summary were sent, once per stage.\n",
            );
        } else {
            text.push_str(
                "Sent to the site: nothing. Your details leave this browser only if you qualify as a \
                 sales lead, and only with your consent.\n",
            );
        }
    } else {
        let why = match session.refusal() {
            Some("gpc") => "your browser's Global Privacy Control signal is on",
            Some("dnt") => "your browser's Do Not Track setting is on",
            Some(_) => "your consent choices say no",
            None if session.may_score() => "you have not given consent (this page is scored in memory only)",
            None => "you have not given consent",
        };
        text.push_str(&format!("Nothing is stored in this browser and nothing is sent: {why}.\n"));
    }
    panel.body.set_text_content(Some(&text));
}

fn stage_words(stage: crate::core::Stage) -> &'static str {
    match stage {
        crate::core::Stage::Cold => "just looking",
        crate::core::Stage::Warm => "interested",
        crate::core::Stage::Mql => "a likely customer",
        crate::core::Stage::SalesReady => "ready to talk to sales",
    }
}
