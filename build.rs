//! The widget's wasm module gets a 64 KiB stack instead of the linker's
//! 1 MiB default: the deepest path (a config nested to the JSON reader's
//! 128-level limit) needs a fraction of it, and the rest was most of the
//! linear memory every visitor's tab holds (BENCHMARKS.md, "Toward 20 KB").
//! Only the `cdylib` that ships; the test binaries keep the default.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size=65536");
    }
}
