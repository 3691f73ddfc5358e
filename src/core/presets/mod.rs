//! Built-in rule sets that work with zero authoring: `data-preset="b2b-saas"`.
//!
//! Each is a JSON document in this folder, parsed by the same parser as a
//! site's own config, and tested to never qualify weak interest (one visit,
//! one curious download) as an MQL.

use core::fmt;

/// A built-in rule set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Preset {
    /// Software sold to businesses: trials, demos, pricing, BANT fit.
    B2bSaas,
    /// Online shops: wishlist, cart, product views, returning shoppers.
    Ecommerce,
    /// Publishers and blogs: returning readers, deep reads, newsletter, e-books.
    Content,
}

impl Preset {
    /// Every preset.
    pub const ALL: [Preset; 3] = [Preset::B2bSaas, Preset::Ecommerce, Preset::Content];

    /// The preset's name in configs and `data-preset`.
    pub const fn name(self) -> &'static str {
        match self {
            Preset::B2bSaas => "b2b-saas",
            Preset::Ecommerce => "ecommerce",
            Preset::Content => "content",
        }
    }

    /// The preset with this name.
    pub fn parse(name: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|preset| preset.name() == name)
    }

    /// The preset's rule set as JSON (no `site`; a site's config supplies it).
    pub const fn json(self) -> &'static str {
        match self {
            Preset::B2bSaas => include_str!("b2b-saas.json"),
            Preset::Ecommerce => include_str!("ecommerce.json"),
            Preset::Content => include_str!("content.json"),
        }
    }
}

impl Preset {
    /// The preset's rule set compiled ([`crate::core::config::Config::to_bytes`]
    /// of [`crate::core::config::Config::preset_base`]), so the widget can
    /// start on it without reading JSON; `tests/core_compiled.rs` checks
    /// each file against its JSON and rewrites it when `LEADSCORE_BLESS=1`.
    pub const fn compiled(self) -> &'static [u8] {
        match self {
            Preset::B2bSaas => include_bytes!("b2b-saas.lsc"),
            Preset::Ecommerce => include_bytes!("ecommerce.lsc"),
            Preset::Content => include_bytes!("content.lsc"),
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
