//! Reading Chrome's performance log: main-thread busy time and script time
//! from trace events, and every URL the page requested.
//!
//! What is counted, on every renderer main thread (`CrRendererMain`):
//! - **busy**: the union of top-level task intervals (`RunTask`,
//!   `ThreadControllerImpl::RunTask`), i.e. the time the thread was not idle;
//! - **script**: the union of script intervals: evaluation and compilation
//!   (`EvaluateScript`, `v8.compile`, `v8.compileModule`, `v8.evaluateModule`,
//!   `v8.run`), calls into JS (`FunctionCall`, `TimerFire`, `FireIdleCallback`,
//!   `FireAnimationFrame`, `RunMicrotasks`, `BlinkScheduler_PerformMicrotaskCheckpoint`
//!   for promise callbacks such as the one that instantiates a wasm module),
//!   WebAssembly compilation and instantiation (`v8.wasm.*`, `wasm.*`,
//!   `v8.newInstance`) and garbage collection (names containing `GC`).
//!   Unions, so nested events count once. Not counted: `v8.callFunction`
//!   outside those, which is mostly chromedriver's own injected scripts.
//!
//! A window can be limited by two user-timing marks.

use serde_json::Value;

/// Main-thread time within a window, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MainThread {
    pub busy_ms: f64,
    pub script_ms: f64,
}

/// Trace events and requested URLs, from one read of the performance log.
#[derive(Default)]
pub struct Log {
    events: Vec<Value>,
    pub urls: Vec<String>,
    /// Chrome reported its trace buffer full: figures would be too low.
    pub overflowed: bool,
}

impl Log {
    pub fn from_messages(messages: Vec<Value>) -> Log {
        let mut log = Log::default();
        for mut message in messages {
            match message["method"].as_str() {
                Some("Tracing.dataCollected") => log.events.push(message["params"].take()),
                Some("Network.requestWillBeSent") => {
                    if let Some(url) = message["params"]["request"]["url"].as_str() {
                        log.urls.push(url.to_string());
                    }
                }
                // chromedriver logs this only when Chrome's buffer is full.
                Some("Tracing.bufferUsage") => log.overflowed = true,
                _ => {}
            }
        }
        log
    }

    /// The time of a user-timing mark on the trace clock, in microseconds.
    pub fn mark(&self, name: &str) -> Option<f64> {
        self.events
            .iter()
            .filter(|event| event["name"] == name && event["cat"].as_str().unwrap_or("").contains("blink.user_timing"))
            .filter_map(|event| event["ts"].as_f64())
            .next()
    }

    /// Main-thread time between two trace timestamps (µs; `None` = open).
    pub fn main_thread(&self, from: Option<f64>, to: Option<f64>) -> MainThread {
        let main: Vec<(u64, u64)> = self
            .events
            .iter()
            .filter(|event| event["ph"] == "M" && event["name"] == "thread_name")
            .filter(|event| event["args"]["name"] == "CrRendererMain")
            .filter_map(|event| Some((event["pid"].as_u64()?, event["tid"].as_u64()?)))
            .collect();
        let (from, to) = (from.unwrap_or(f64::MIN), to.unwrap_or(f64::MAX));
        let mut busy = Vec::new();
        let mut script = Vec::new();
        for event in &self.events {
            let Some(thread) = event["pid"].as_u64().zip(event["tid"].as_u64()) else { continue };
            if event["ph"] != "X" || !main.contains(&thread) {
                continue;
            }
            let (Some(start), Some(duration)) = (event["ts"].as_f64(), event["dur"].as_f64()) else { continue };
            let (start, end) = (start.max(from), (start + duration).min(to));
            if end <= start {
                continue;
            }
            let name = event["name"].as_str().unwrap_or("");
            if is_task(name) {
                busy.push((start, end));
            } else if is_script(name) {
                script.push((start, end));
            }
        }
        MainThread { busy_ms: union_us(busy) / 1000.0, script_ms: union_us(script) / 1000.0 }
    }
}

/// Where main-thread time goes, for `bench-browser --breakdown`.
impl Log {
    fn main_threads(&self) -> Vec<(u64, u64)> {
        self.events
            .iter()
            .filter(|event| event["ph"] == "M" && event["name"] == "thread_name")
            .filter(|event| event["args"]["name"] == "CrRendererMain")
            .filter_map(|event| Some((event["pid"].as_u64()?, event["tid"].as_u64()?)))
            .collect()
    }

    /// Complete events on a renderer main thread that overlap the window:
    /// start and end (µs), name, and the URL or function named in its data.
    fn spans(&self, from: Option<f64>, to: Option<f64>) -> Vec<(f64, f64, String, String)> {
        let main = self.main_threads();
        let (from, to) = (from.unwrap_or(f64::MIN), to.unwrap_or(f64::MAX));
        self.events
            .iter()
            .filter(|event| event["ph"] == "X")
            .filter(|event| event["pid"].as_u64().zip(event["tid"].as_u64()).is_some_and(|t| main.contains(&t)))
            .filter_map(|event| {
                let start = event["ts"].as_f64()?;
                let data = &event["args"]["data"];
                let detail = data["url"].as_str().or(data["functionName"].as_str()).unwrap_or("").to_string();
                Some((
                    start.max(from),
                    (start + event["dur"].as_f64()?).min(to),
                    event["name"].as_str()?.to_string(),
                    detail,
                ))
            })
            .filter(|(start, end, _, _)| end > start)
            .collect()
    }

    /// Main-thread time by trace event name, the largest first; each name's
    /// intervals as a union (names nest: a `RunTask` holds a `FunctionCall`).
    pub fn by_name(&self, from: Option<f64>, to: Option<f64>) -> Vec<(String, f64)> {
        let mut names: std::collections::BTreeMap<String, Vec<(f64, f64)>> = Default::default();
        for (start, end, name, _) in self.spans(from, to) {
            names.entry(name).or_default().push((start, end));
        }
        let mut totals: Vec<(String, f64)> =
            names.into_iter().map(|(name, spans)| (name, union_us(spans) / 1000.0)).collect();
        totals.sort_by(|a, b| b.1.total_cmp(&a.1));
        totals
    }

    /// Each task of at least `min_ms`, with the events of a quarter of that
    /// or more inside it, as one line each.
    pub fn tasks(&self, from: Option<f64>, to: Option<f64>, min_ms: f64) -> Vec<String> {
        let spans = self.spans(from, to);
        let origin = spans.iter().map(|span| span.0).fold(f64::MAX, f64::min);
        let mut lines = Vec::new();
        for (start, end, name, _) in spans.iter().filter(|span| span.2 == "RunTask") {
            if (end - start) / 1000.0 < min_ms {
                continue;
            }
            let mut inside: Vec<&(f64, f64, String, String)> = spans
                .iter()
                .filter(|s| s.0 >= *start && s.1 <= *end && !is_task(&s.2) && (s.1 - s.0) / 1000.0 >= min_ms / 4.0)
                .collect();
            inside.sort_by(|a, b| a.0.total_cmp(&b.0));
            let inner: Vec<String> = inside
                .iter()
                .map(|s| match s.3.as_str() {
                    "" => format!("{} {:.1}", s.2, (s.1 - s.0) / 1000.0),
                    detail => format!("{} {:.1} [{detail}]", s.2, (s.1 - s.0) / 1000.0),
                })
                .collect();
            lines.push(format!(
                "at {:7.1} ms, {name} {:.1} ms: {}",
                (start - origin) / 1000.0,
                (end - start) / 1000.0,
                inner.join("; ")
            ));
        }
        lines
    }

    /// Total length of the tasks that instantiate or compile WebAssembly on
    /// the main thread: for the widget, the task that runs its `start`.
    pub fn wasm_task_ms(&self, from: Option<f64>, to: Option<f64>) -> f64 {
        let spans = self.spans(from, to);
        let wasm = |name: &str| name == "v8.newInstance" || name.starts_with("v8.wasm");
        let tasks: Vec<(f64, f64)> = spans
            .iter()
            .filter(|task| task.2 == "RunTask")
            .filter(|task| spans.iter().any(|s| wasm(&s.2) && s.0 >= task.0 && s.1 <= task.1))
            .map(|task| (task.0, task.1))
            .collect();
        union_us(tasks) / 1000.0
    }
}

fn is_task(name: &str) -> bool {
    matches!(name, "RunTask" | "ThreadControllerImpl::RunTask")
}

fn is_script(name: &str) -> bool {
    matches!(
        name,
        "EvaluateScript"
            | "v8.compile"
            | "v8.compileModule"
            | "v8.evaluateModule"
            | "v8.run"
            | "FunctionCall"
            | "TimerFire"
            | "FireIdleCallback"
            | "FireAnimationFrame"
            | "RunMicrotasks"
            | "BlinkScheduler_PerformMicrotaskCheckpoint"
            | "v8.newInstance"
    ) || name.starts_with("v8.wasm")
        || name.starts_with("wasm.")
        || name.contains("GC")
}

/// Total length covered by possibly overlapping intervals.
pub fn union_us(mut intervals: Vec<(f64, f64)>) -> f64 {
    intervals.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut total = 0.0;
    let mut current: Option<(f64, f64)> = None;
    for (start, end) in intervals {
        current = match current {
            Some((open, close)) if start <= close => Some((open, close.max(end))),
            Some((open, close)) => {
                total += close - open;
                Some((start, end))
            }
            None => Some((start, end)),
        };
    }
    total + current.map_or(0.0, |(open, close)| close - open)
}

/// URLs that would leave the machine: anything but loopback and the
/// browser's own schemes.
pub fn off_loopback(urls: &[String]) -> Vec<String> {
    let local = ["http://127.0.0.1:", "data:", "blob:", "about:", "chrome:", "chrome-extension:"];
    let mut leaving: Vec<String> =
        urls.iter().filter(|url| !local.iter().any(|prefix| url.starts_with(prefix))).cloned().collect();
    leaving.sort();
    leaving.dedup();
    leaving
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn union_counts_overlaps_once() {
        assert_eq!(union_us(vec![]), 0.0);
        assert_eq!(union_us(vec![(0.0, 10.0), (5.0, 15.0), (20.0, 25.0)]), 20.0);
        assert_eq!(union_us(vec![(20.0, 25.0), (0.0, 100.0), (10.0, 30.0)]), 100.0);
    }

    #[test]
    fn only_main_thread_events_inside_the_window_count() {
        let event = |name: &str, tid: u64, ts: f64, dur: f64| {
            json!({"method": "Tracing.dataCollected",
                   "params": {"ph": "X", "name": name, "pid": 1, "tid": tid, "ts": ts, "dur": dur, "cat": "toplevel"}})
        };
        let log = Log::from_messages(vec![
            json!({"method": "Tracing.dataCollected",
                   "params": {"ph": "M", "name": "thread_name", "pid": 1, "tid": 7, "args": {"name": "CrRendererMain"}}}),
            event("RunTask", 7, 0.0, 4000.0),
            event("FunctionCall", 7, 1000.0, 2000.0),
            event("EvaluateScript", 7, 1500.0, 500.0),
            event("RunTask", 8, 0.0, 9000.0),
            event("RunTask", 7, 10_000.0, 1000.0),
            json!({"method": "Tracing.dataCollected",
                   "params": {"ph": "R", "name": "bench:end", "cat": "blink.user_timing", "pid": 1, "tid": 7, "ts": 10_500.0}}),
            json!({"method": "Network.requestWillBeSent", "params": {"request": {"url": "https://cdn.example/x.js"}}}),
        ]);
        assert_eq!(log.main_thread(None, None), MainThread { busy_ms: 5.0, script_ms: 2.0 });
        assert_eq!(log.main_thread(Some(1000.0), log.mark("bench:end")), MainThread { busy_ms: 3.5, script_ms: 2.0 });
        assert_eq!(off_loopback(&log.urls), ["https://cdn.example/x.js"]);
        assert!(off_loopback(&["http://127.0.0.1:80/a".into(), "data:,x".into()]).is_empty());
    }

    #[test]
    fn the_breakdown_names_tasks_and_finds_the_wasm_one() {
        let event = |name: &str, ts: f64, dur: f64| {
            json!({"method": "Tracing.dataCollected",
                   "params": {"ph": "X", "name": name, "pid": 1, "tid": 7, "ts": ts, "dur": dur, "cat": "toplevel"}})
        };
        let log = Log::from_messages(vec![
            json!({"method": "Tracing.dataCollected",
                   "params": {"ph": "M", "name": "thread_name", "pid": 1, "tid": 7, "args": {"name": "CrRendererMain"}}}),
            event("RunTask", 0.0, 4000.0),
            event("ParseHTML", 500.0, 3000.0),
            event("RunTask", 10_000.0, 6000.0),
            event("v8.newInstance", 10_100.0, 1000.0),
            event("FunctionCall", 11_500.0, 4000.0),
        ]);
        assert_eq!(log.wasm_task_ms(None, None), 6.0);
        assert_eq!(log.wasm_task_ms(None, Some(12_000.0)), 2.0, "cut by the window");
        let names = log.by_name(None, None);
        assert_eq!(names[0], ("RunTask".to_string(), 10.0));
        assert_eq!(names[1], ("FunctionCall".to_string(), 4.0));
        assert_eq!(log.tasks(None, None, 5.0), ["at    10.0 ms, RunTask 6.0 ms: FunctionCall 4.0"]);
        assert_eq!(
            log.tasks(None, None, 4.0),
            [
                "at     0.0 ms, RunTask 4.0 ms: ParseHTML 3.0",
                "at    10.0 ms, RunTask 6.0 ms: v8.newInstance 1.0; FunctionCall 4.0"
            ]
        );
    }
}
