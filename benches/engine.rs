//! Engine speed: events handled per second and nanoseconds per score read,
//! with rule sets of 10, 50 and 200 rules. Results go to BENCHMARKS.md.
//!
//! Run with `cargo xtask bench` (or `cargo bench --bench engine`).

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::hint::black_box;
    use std::sync::Arc;

    use criterion::{BenchmarkId, Criterion, Throughput};
    use leadscore::core::time::DAY_MS;
    use leadscore::core::{Config, Engine, Event, EventId, State, Timestamp};

    const T0: u64 = 1_767_225_600_000;
    const PATHS: &[&str] = &["/", "/pricing", "/product/analytics", "/blog/launch", "/careers", "/docs/start"];
    const NAMES: &[&str] = &["page_view", "cart_add", "wishlist_add", "download", "demo_use", "form_submit"];

    /// A rule set of `count` rules mixing every rule kind: globs, props,
    /// count windows, cooldowns, caps, measurements and per-rule decay.
    pub fn rule_set(count: usize) -> Arc<Config> {
        let rules: Vec<String> = (0..count)
            .map(|index| {
                let name = NAMES[index % NAMES.len()];
                let mut rule =
                    format!(r#"{{"id":"r{index}","on":"{name}","points":{},"cap":{}"#, 1 + index % 9, 10 + index % 30);
                match index % 5 {
                    0 => rule.push_str(&format!(r#","url":"{}*""#, PATHS[index % PATHS.len()])),
                    1 => rule.push_str(r#","props":{"kind":["trial","whitepaper"]}"#),
                    2 => rule.push_str(r#","min_count":3,"within_days":7"#),
                    3 => rule.push_str(r#","once_every_days":2,"half_life_days":14"#),
                    _ => {}
                }
                rule.push('}');
                rule
            })
            .chain([
                r#"{"id":"read","on":"engaged_time","url":"/blog/*","min_seconds":60,"points":3,"cap":12}"#.to_string()
            ])
            .collect();
        let json = format!(r#"{{"site":"bench","half_life_days":30,"rules":[{}]}}"#, rules[..count].join(","));
        Arc::new(Config::parse(&json).expect("bench config parses"))
    }

    /// A stream of events, a few minutes apart, cycling through names and pages.
    pub fn events(count: usize) -> Vec<Event> {
        (0..count)
            .map(|index| {
                let name = NAMES[index % NAMES.len()];
                Event::new(EventId(index as u64 + 1), Timestamp(T0 + index as u64 * 180_000), name)
                    .expect("valid name")
                    .with_url(PATHS[index % PATHS.len()])
                    .with_prop("kind", if index % 3 == 0 { "trial" } else { "other" })
                    .expect("valid prop")
            })
            .collect()
    }

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
