//! What the session asks the browser shell to do. The shell carries these
//! out in order and has no rules of its own: which lead to send, what to
//! store and whom to tell are all decided here, in the session.

use crate::core::Stage;
use crate::prelude::*;

/// One thing for the shell to do, from [`crate::session::Session::poll_effect`].
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Read our key and hand its text to [`crate::session::Session::handle_stored`]
    /// before carrying out anything else.
    ReadRecord,
    /// Store this text under our key.
    WriteRecord(String),
    /// Delete our key (and only it).
    RemoveRecord,
    /// Post this lead under the site's send lock, then report the
    /// [`crate::session::Answer`].
    Send(Outgoing),
    /// Hand this lead to `sendBeacon`; report [`crate::session::Answer::Beaconed`] if it took it.
    Beacon(Outgoing),
    /// Ask the collector to erase what it received about this visitor
    /// (fire and forget, with keepalive).
    RequestErasure {
        /// Where to post.
        url: String,
        /// The JSON body: `{"site":…,"visitor_id":…,"secret":…}`.
        body: String,
    },
    /// Tell the page's `on(kind, …)` callbacks.
    Notify(Notice),
    /// Show `data-leadscore-show` elements up to this stage, hide the rest.
    Reveal(Stage),
    /// Measure the scroll depth and report [`crate::session::Signal::Scrolled`].
    MeasureScroll,
    /// Redraw the open views (debug overlay, privacy panel) from the session.
    Redraw,
    /// One console line for the site owner.
    Warn(String),
}

/// A lead ready to go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The idempotency key.
    pub lead_id: String,
    /// The stage the lead is for.
    pub stage: Stage,
    /// Where to post.
    pub endpoint: String,
    /// The JSON body.
    pub body: String,
    /// Send as `application/json` (otherwise the CORS-simple `text/plain`).
    pub json: bool,
    /// The name of the site's send lock, shared by its tabs.
    pub lock: String,
}

/// What happened, for the page's callbacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// The rounded score changed.
    Score(i64),
    /// The stage changed.
    Stage(Stage),
    /// The visitor reached `mql` (or went straight to `sales_ready`).
    Mql(Stage),
    /// A lead was delivered.
    Sent {
        /// The lead's id.
        lead_id: String,
        /// Its stage.
        stage: Stage,
        /// The endpoint's status.
        status: u16,
    },
    /// A lead was given up: `rejected` (a 4xx) or `expired` (the retry bound).
    Failed {
        /// The lead's id.
        lead_id: String,
        /// Its stage.
        stage: Stage,
        /// The last status, if any.
        status: Option<u16>,
        /// `rejected` or `expired`.
        reason: &'static str,
    },
}

impl Notice {
    /// The `on()` kind this notice is for.
    pub fn kind(&self) -> NoticeKind {
        match self {
            Notice::Score(_) => NoticeKind::Score,
            Notice::Stage(_) => NoticeKind::Stage,
            Notice::Mql(_) => NoticeKind::Mql,
            Notice::Sent { .. } => NoticeKind::Sent,
            Notice::Failed { .. } => NoticeKind::Failed,
        }
    }
}

/// The kinds a page may register with `on(kind, callback)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    /// Score changes.
    Score,
    /// Stage changes.
    Stage,
    /// Reaching `mql`.
    Mql,
    /// A delivered lead.
    Sent,
    /// A lead given up.
    Failed,
}

impl NoticeKind {
    /// Parses `stage`, `score`, `mql`, `sent` or `failed`.
    pub fn parse(name: &str) -> Option<NoticeKind> {
        Some(match name {
            "score" => NoticeKind::Score,
            "stage" => NoticeKind::Stage,
            "mql" => NoticeKind::Mql,
            "sent" => NoticeKind::Sent,
            "failed" => NoticeKind::Failed,
            _ => return None,
        })
    }
}
