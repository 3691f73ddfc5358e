//! The basis for tracking, from five kinds of source: the page's own choice
//! (`consent()`, the consent event, the privacy panel, another tab's
//! withdrawal), an IAB TCF CMP, Google Consent Mode, and the browser's GPC
//! and DNT signals. One rule combines them: a refusal from any source wins;
//! in `required` mode a grant from the page or a consent tool is needed.

use super::input::{ConsentModeCommand, Source, TcfReport, Verdict};
use crate::core::config::Privacy;
use crate::core::ConsentMode;
use crate::prelude::*;

/// What every source currently says.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Basis {
    /// The page's choice: `consent()`, the event, the panel, another tab.
    pub choice: Option<bool>,
    pub tcf: Option<bool>,
    pub consent_mode: Option<bool>,
    /// The browser's signals, as read; honoured only where the config says so.
    pub gpc: bool,
    pub dnt: bool,
}

impl Basis {
    /// Takes a source's verdict.
    pub fn set(&mut self, source: Source, verdict: Verdict) {
        match source {
            Source::Api | Source::Event | Source::Panel => self.choice = verdict.as_option(),
            Source::Tcf => self.tcf = verdict.as_option(),
            Source::ConsentMode => self.consent_mode = verdict.as_option(),
            Source::Gpc => self.gpc = verdict == Verdict::Denied,
            Source::Dnt => self.dnt = verdict == Verdict::Denied,
        }
    }

    /// The source refusing consent, if any: a browser opt-out the config
    /// honours (`gpc`, `dnt`), or a consent tool (`tcf`, `consent_mode`).
    pub fn refusal(&self, privacy: &Privacy) -> Option<&'static str> {
        if privacy.gpc && self.gpc {
            Some("gpc")
        } else if privacy.dnt && self.dnt {
            Some("dnt")
        } else if self.tcf == Some(false) {
            Some("tcf")
        } else if self.consent_mode == Some(false) {
            Some("consent_mode")
        } else {
            None
        }
    }

    /// Whether there is a basis to score, store and send.
    pub fn active(&self, mode: ConsentMode, privacy: &Privacy) -> bool {
        if self.refusal(privacy).is_some() {
            return false;
        }
        match mode {
            ConsentMode::Implied => self.choice != Some(false),
            ConsentMode::Required => {
                self.choice == Some(true)
                    || (self.choice.is_none() && (self.tcf == Some(true) || self.consent_mode == Some(true)))
            }
        }
    }

    /// Whether signals may be scored in memory only: no answer yet, nothing
    /// refused, and a `required` config that allows it.
    pub fn may_score_in_memory(&self, mode: ConsentMode, in_memory_before_consent: bool, privacy: &Privacy) -> bool {
        self.choice.is_none()
            && self.refusal(privacy).is_none()
            && mode == ConsentMode::Required
            && in_memory_before_consent
    }
}

/// A TCF answer's verdict: `None` while the CMP is still asking (only
/// `tcloaded` and `useractioncomplete` are final); `Unset` where GDPR does
/// not apply; otherwise granted when purpose 1 and every configured purpose
/// are consented.
pub fn tcf_verdict(report: &TcfReport, purposes: &[u8]) -> Option<Verdict> {
    if report.gdpr_applies == Some(false) {
        return Some(Verdict::Unset);
    }
    if report.event_status != "tcloaded" && report.event_status != "useractioncomplete" {
        return None;
    }
    let consented = |purpose: u8| report.consented_purposes.contains(&purpose);
    Some(Verdict::from_bool(consented(1) && purposes.iter().all(|&purpose| consented(purpose))))
}

/// Folds Consent Mode commands onto the verdict so far. Granted needs
/// `analytics_storage` granted (and `ad_user_data` not denied); either
/// denied is a refusal; a command about neither changes nothing.
pub fn fold_consent_mode(mut verdict: Option<bool>, commands: &[ConsentModeCommand]) -> Option<bool> {
    for command in commands {
        let denied = |value: &Option<String>| value.as_deref() == Some("denied");
        if denied(&command.analytics_storage) || denied(&command.ad_user_data) {
            verdict = Some(false);
        } else if command.analytics_storage.as_deref() == Some("granted") {
            verdict = Some(true);
        }
    }
    verdict
}
