//! leadscore: lead scoring that runs in the visitor's browser.
//!
//! [`core`] is the pure scoring engine, shared by the browser widget and the
//! collector; [`session`] is one widget's state machine in a page, pure as
//! well; `web` (wasm32 only) is the thin browser shell that carries out its
//! effects.
#![deny(missing_docs)]
// The module that ships (`cargo xtask build` turns on `shipped`) goes without
// std: its panic machinery and the formatting only panics reach were several
// KB of every visitor's first load (BENCHMARKS.md, "Toward 20 KB"). Native
// builds and the browser tests keep std.
#![cfg_attr(all(target_arch = "wasm32", feature = "shipped"), no_std)]
// No `str` slicing in the browser build: a slice that can panic links the
// panic message's formatting and `char`'s `Debug` with its Unicode tables,
// 4.2 KB gzip of the first load (BENCHMARKS.md, "Props as one text"). The
// code uses `str::get` instead; `cargo xtask test`'s wasm32 clippy holds it.
#![cfg_attr(all(target_arch = "wasm32", not(test)), deny(clippy::string_slice))]

extern crate alloc;

/// Text from parts: `cat!("lead ", id, " refused")`, each part a `&str`,
/// `String` or anything else that is `AsRef<str>`; numbers through
/// [`core::text::uint`] and [`core::text::int`]. The browser path's
/// `format!`, without core's formatting machinery and the argument tables
/// each `format!` call site builds (BENCHMARKS.md, "One export, and
/// `format!` out of the browser path").
macro_rules! cat {
    ($($part:expr),+ $(,)?) => {
        $crate::core::text::concat(&[$(::core::convert::AsRef::<str>::as_ref(&$part)),+])
    };
}

/// What std's prelude gives and core's lacks, imported where it is used, so
/// the code reads the same with and without std. (`Box` is used by the wasm
/// shell only, so natively it goes unused.)
#[allow(unused_imports)]
mod prelude {
    pub use alloc::borrow::ToOwned;
    pub use alloc::boxed::Box;
    pub use alloc::string::{String, ToString};
    pub use alloc::vec::Vec;
    pub use alloc::{format, vec};
}

pub mod core;
pub mod session;

#[cfg(all(target_arch = "wasm32", not(feature = "compiler")))]
pub mod web;

// The config compiler: a module of its own, built from this crate with
// `compiler` (`cargo xtask build` does), which the widget loads only for a
// config beyond a preset and its options (src/compiler.rs).
#[cfg(all(target_arch = "wasm32", feature = "compiler"))]
mod compiler;

/// The widget's allocator: talc instead of std's dlmalloc, several KB
/// smaller, and it reuses freed memory as well.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

/// Without std, a panic throws a JS error with its message (when it is a
/// plain text, which ours are) instead of formatting it: the loader's guard
/// catches it, turns the widget off and logs one line.
#[cfg(all(target_arch = "wasm32", feature = "shipped", not(feature = "compiler")))]
#[panic_handler]
fn panic(info: &::core::panic::PanicInfo) -> ! {
    let message = info.message().as_str().unwrap_or("a panic");
    let mut text = prelude::String::from("internal error: ");
    text.push_str(message);
    wasm_bindgen::throw_str(&text)
}

/// The config compiler has no JS of its own to throw through: a panic traps,
/// which rejects the widget's promise for its answer.
#[cfg(all(target_arch = "wasm32", feature = "shipped", feature = "compiler"))]
#[panic_handler]
fn panic(_: &::core::panic::PanicInfo) -> ! {
    ::core::arch::wasm32::unreachable()
}
