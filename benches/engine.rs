//! Engine speed: events handled per second and nanoseconds per score read,
//! with rule sets of 10, 50 and 200 rules. Results go to BENCHMARKS.md.
//!
//! Run with `cargo xtask bench` (or `cargo bench --bench engine`); the same
//! workload in wasm32 inside Chromium is `cargo xtask bench-browser`'s.

// The workload, shared with the wasm32 build in `benches/wasm-engine`.
#[cfg(not(target_arch = "wasm32"))]
mod workload;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::hint::black_box;

    use criterion::{BenchmarkId, Criterion, Throughput};
    use leadscore::core::time::DAY_MS;
    use leadscore::core::{Engine, State, Timestamp};

    use crate::workload::{events, rule_set, T0};

    pub fn bench(c: &mut Criterion) {
        let stream = events(1000);
        let mut handle = c.benchmark_group("handle_event");
        handle.throughput(Throughput::Elements(stream.len() as u64));
        for rules in [10, 50, 200] {
            let config = rule_set(rules);
            handle.bench_with_input(BenchmarkId::from_parameter(format!("{rules} rules")), &config, |b, config| {
                b.iter(|| {
                    let mut engine = Engine::new(config.clone(), State::new("bench", Timestamp(T0)));
                    for event in &stream {
                        black_box(engine.handle_event(event.clone()));
                    }
                    engine
                })
            });
        }
        handle.finish();

        let mut read = c.benchmark_group("score_read");
        for rules in [10, 50, 200] {
            let config = rule_set(rules);
            let mut engine = Engine::new(config, State::new("bench", Timestamp(T0)));
            for event in &stream {
                engine.handle_event(event.clone());
            }
            let now = Timestamp(T0 + 90 * DAY_MS);
            read.bench_function(BenchmarkId::from_parameter(format!("{rules} rules")), |b| {
                b.iter(|| black_box(&engine).score(black_box(now)))
            });
        }
        read.finish();
    }
}

#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_group!(benches, native::bench);
#[cfg(not(target_arch = "wasm32"))]
criterion::criterion_main!(benches);

#[cfg(target_arch = "wasm32")]
fn main() {}
