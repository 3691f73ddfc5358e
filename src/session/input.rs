//! What the browser shell hands the session: signals from the page, consent
//! reports from each source, answers from the endpoint. Plain typed data:
//! the shell converts JS values into these once, at the edge.

use crate::prelude::*;
/// Something that happened in the page, already read out of the DOM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signal {
    /// A `leadscore.track(name, props)` call, a marked click or a form's event.
    Track {
        /// The event name, checked by the engine.
        name: String,
        /// Text properties, in the order given.
        props: Vec<(String, String)>,
    },
    /// A link to a file was followed (`path` is the link's pathname).
    Download {
        /// The file's path, for URL rules.
        path: String,
        /// The link's properties, with a guessed `kind` where it had none.
        props: Vec<(String, String)>,
    },
    /// Identity fields: `identify()` or a submitted form's allowlisted fields.
    Identify(Vec<(String, String)>),
    /// A history navigation (`pushState`, `replaceState`, `popstate`,
    /// `hashchange`) to `url`; a new page view only when the path changed.
    Navigated {
        /// The full URL after the navigation.
        url: String,
    },
    /// A back/forward-cache restore: a new view of the same page.
    Restored,
    /// Visitor input (pointer, key, wheel, touch, scroll).
    Input,
    /// The page was shown or hidden, focused or blurred (`None`: unchanged).
    Visibility {
        /// Whether the page is visible now.
        visible: Option<bool>,
        /// Whether the window has focus now.
        focused: Option<bool>,
    },
    /// The scroll position, as a percentage of the page height; the shell
    /// measures it only after [`crate::session::Effect::MeasureScroll`].
    Scrolled(u32),
    /// The page scrolled: the session decides whether depth is worth measuring.
    Scroll,
    /// The page is going away (`pagehide`, or hidden): last engaged time,
    /// beacons, a write.
    Leaving,
    /// The browser came back online.
    Online,
    /// `leadscore.flush()`: store pending changes now.
    Flush,
    /// Another tab wrote our key (`Some`) or deleted it (`None`).
    OtherTab(Option<String>),
    /// `leadscore.forget()`: erase everything and start a new visitor.
    Forget,
}

/// Where a consent verdict comes from. A refusal from any source wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `leadscore.consent(true | false)`.
    Api,
    /// The `leadscore:consent` DOM event.
    Event,
    /// An IAB TCF v2.2 CMP (see [`crate::session::tcf_verdict`]).
    Tcf,
    /// Google Consent Mode v2 in the `dataLayer` (see [`crate::session::fold_consent_mode`]).
    ConsentMode,
    /// The browser's Global Privacy Control signal, if the config honours it.
    Gpc,
    /// The browser's Do Not Track setting, if the config honours it.
    Dnt,
    /// The privacy panel's "Erase my data" button.
    Panel,
}

/// What a source says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Consent given (for GPC and DNT: the signal is off).
    Granted,
    /// Consent refused or withdrawn (for GPC and DNT: the signal is on).
    Denied,
    /// The source says nothing either way (TCF where GDPR does not apply).
    Unset,
}

impl Verdict {
    /// `true` as granted, `false` as denied.
    pub fn from_bool(granted: bool) -> Verdict {
        if granted {
            Verdict::Granted
        } else {
            Verdict::Denied
        }
    }

    pub(crate) fn as_option(self) -> Option<bool> {
        match self {
            Verdict::Granted => Some(true),
            Verdict::Denied => Some(false),
            Verdict::Unset => None,
        }
    }
}

/// How an attempt to deliver a lead ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The endpoint answered with `status` (and a `Retry-After` header, if any).
    Status {
        /// The HTTP status.
        status: u16,
        /// The `Retry-After` header as sent.
        retry_after: Option<String>,
    },
    /// No answer: offline, refused by CORS, or timed out.
    NetworkError,
    /// Another tab holds the send lock; look again shortly.
    Busy,
    /// Another tab finished the lead meanwhile; nothing was sent.
    Finished,
    /// Handed to `sendBeacon` as the page went away; its answer is never seen.
    Beaconed,
}

/// What an IAB TCF v2.2 CMP reported to an `addEventListener` callback.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TcfReport {
    /// `gdprApplies`, if a boolean.
    pub gdpr_applies: Option<bool>,
    /// `eventStatus`: `tcloaded`, `cmpuishown`, `useractioncomplete`.
    pub event_status: String,
    /// The purposes in `purpose.consents` that are consented.
    pub consented_purposes: Vec<u8>,
}

/// One `gtag('consent', 'default' | 'update', {...})` command in the dataLayer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsentModeCommand {
    /// `analytics_storage`: `granted` or `denied`.
    pub analytics_storage: Option<String>,
    /// `ad_user_data`: `granted` or `denied`.
    pub ad_user_data: Option<String>,
}
