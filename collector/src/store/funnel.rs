//! The sales funnel as a state machine: where a lead stands, and which
//! step may move it where. Every backend applies steps through
//! [`Action::apply`], so none can disagree on what is allowed.

use std::fmt;

use serde::Serialize;

use super::StoreError;

/// Where a lead stands in the sales funnel, after marketing qualified it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Funnel {
    /// Marketing qualified: waiting for sales to look.
    Mql,
    /// Sales accepted.
    Sal,
    /// Sales qualified: an opportunity.
    Sql,
    /// Closed won.
    Won,
    /// Closed lost.
    Lost,
    /// Sent back to marketing with a reason.
    Nurture,
}

impl Funnel {
    /// All stages, in funnel order.
    pub const ALL: [Funnel; 6] = [Funnel::Mql, Funnel::Sal, Funnel::Sql, Funnel::Won, Funnel::Lost, Funnel::Nurture];

    /// The stage's name in the API and the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Funnel::Mql => "mql",
            Funnel::Sal => "sal",
            Funnel::Sql => "sql",
            Funnel::Won => "won",
            Funnel::Lost => "lost",
            Funnel::Nurture => "nurture",
        }
    }

    /// The stage with this name.
    pub fn parse(name: &str) -> Option<Funnel> {
        Funnel::ALL.into_iter().find(|stage| stage.as_str() == name)
    }

    /// How far up the funnel this stage is: 0 MQL, 1 SAL, 2 SQL, 3 won. Lost
    /// and nurture reach nothing new, so they rank 0 (the highest rank a lead
    /// ever reached is kept separately).
    pub const fn rank(self) -> u8 {
        match self {
            Funnel::Sal => 1,
            Funnel::Sql => 2,
            Funnel::Won => 3,
            Funnel::Mql | Funnel::Lost | Funnel::Nurture => 0,
        }
    }
}

impl fmt::Display for Funnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step sales takes on a lead.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// MQL (or a nurtured lead) → SAL.
    Accept,
    /// MQL, SAL or SQL → nurture; needs a reason.
    Reject,
    /// SAL → SQL.
    Qualify,
    /// SQL → won.
    Win,
    /// SAL or SQL → lost.
    Lose,
}

impl Action {
    /// All actions.
    pub const ALL: [Action; 5] = [Action::Accept, Action::Reject, Action::Qualify, Action::Win, Action::Lose];

    /// The action's name in URLs.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Accept => "accept",
            Action::Reject => "reject",
            Action::Qualify => "qualify",
            Action::Win => "win",
            Action::Lose => "lose",
        }
    }

    /// The action with this name.
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|action| action.as_str() == name)
    }

    /// The stage this action leads to from `from`, or why it cannot be taken.
    pub fn apply(self, from: Funnel, reason: Option<&str>) -> Result<Funnel, StoreError> {
        use Funnel::*;
        let to = match (self, from) {
            (Action::Accept, Mql | Nurture) => Sal,
            (Action::Reject, Mql | Sal | Sql) => Nurture,
            (Action::Qualify, Sal) => Sql,
            (Action::Win, Sql) => Won,
            (Action::Lose, Sal | Sql) => Lost,
            _ => {
                return Err(StoreError::Conflict(format!(
                    "cannot {} a lead at {from}; {}",
                    self.as_str(),
                    self.allowed_from()
                )))
            }
        };
        if self == Action::Reject && reason.is_none_or(|reason| reason.trim().is_empty()) {
            return Err(StoreError::Invalid {
                field: "reason".into(),
                message: "rejecting a lead back to nurture needs a reason".into(),
            });
        }
        Ok(to)
    }

    fn allowed_from(self) -> &'static str {
        match self {
            Action::Accept => "accept works on mql and nurture leads",
            Action::Reject => "reject works on mql, sal and sql leads",
            Action::Qualify => "qualify works on sal leads",
            Action::Win => "win works on sql leads",
            Action::Lose => "lose works on sal and sql leads",
        }
    }
}
