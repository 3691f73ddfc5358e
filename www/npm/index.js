// The `leadscore` npm package's entry: the script tag's loader
// (www/leadscore.js) as an ES module for bundlers. The same methods, the
// same queue until the module is ready, the same guard around everything the
// module calls back; what differs is where the files come from (beside this
// one, through `import.meta.url`, so a bundler copies them) and when loading
// starts (at the first `init`, since a bundle has no tag to read a config from).
//
// Importing it does nothing: no global, no listener, no request until
// `init()` is called, so `sideEffects: false` is true of it.

// Taken once, when the bundle first runs, so page code installed later
// cannot see what the widget sends or steer it (www/README.md says why for
// each one). Outside a browser (a server-side render) there is nothing to
// take, and `init` does nothing.
const browser = typeof window != "undefined" && typeof document != "undefined";
const apply = Reflect.apply;
const own = {}.hasOwnProperty;
const keys = Object.keys;
const parse = JSON.parse;
const fetch_ = browser ? window.fetch.bind(window) : null;
const beacon = browser ? navigator.sendBeacon.bind(navigator) : null;
const warn = console.warn;

/** Methods that answer; everything else is queued until the module is ready. */
const GETTERS = { score: 1, stage: 1, grade: 1, explain: 1 };

let widget = null;
let failed = false;
let config = null;
let started = false;
/** The URL the visitor landed on, taken at the first `init`. */
let landing = null;
const queue = [];

function get(object, key) {
  return object != null && apply(own, object, [key]) ? object[key] : undefined;
}

// An object's own properties as one text, the count, then each key and
// value as its length, NUL and itself, when each is a string, a boolean, a
// number written the same by JS and by the module, or null/undefined (left
// out); undefined otherwise, or when a getter throws, and the module reads
// the object by `get`. One call from the module instead of three per
// property. The same as the loader's `p` (www/README.md; tests/web.rs
// compares them).
function pairs(object) {
  try {
    const names = keys(object);
    let text = "";
    let count = 0;
    // By index: an array's iterator is the page's to replace.
    for (let i = 0; i < names.length; i++) {
      const key = names[i];
      let value = get(object, key);
      if (value == null) continue;
      const type = typeof value;
      if (type == "number" ? !(value * value < 1e42 && (value == 0 || value * value > 1e-12)) : type != "string" && type != "boolean") {
        return undefined;
      }
      value += "";
      text += key.length + "\0" + key + value.length + "\0" + value;
      count++;
    }
    return count + "\0" + text;
  } catch (_) {
    return undefined;
  }
}

// `track()` calls made once the module runs, each as its props' text and
// its name, when the props are plain: the call returns at once, and the
// module handles them in idle time or before anything else it does, and
// empties the list
// (BENCHMARKS.md, "track() off the call"). At most 1,000 wait.
const kept = [];

function keep(name, props) {
  if (typeof name != "string" || kept.length >= 1000) return false;
  const text = props == null ? "0\0" : typeof props == "object" && pairs(props);
  if (!text) return false;
  if (!kept.length) (globalThis.requestIdleCallback || setTimeout)(() => call("drain"), { timeout: 3000 });
  kept[kept.length] = text + name;
  return true;
}

function log(line) {
  try {
    apply(warn, console, ["leadscore: " + line]);
  } catch (_) {
    // A console that throws must not reach the page.
  }
}

function fail(error) {
  failed = true;
  log("disabled: " + error);
}

function call(method, a, b) {
  if (failed) return null;
  if (widget) {
    try {
      if (method == "track" && keep(a, b)) return null;
      return widget(method, a, b);
    } catch (error) {
      fail(error);
      return null;
    }
  }
  if (!apply(own, GETTERS, [method])) queue[queue.length] = [method, a, b];
  return null;
}

function navigated() {
  call("navigated", document.URL);
}

function load() {
  import("./leadscore_wasm.js")
    .then((glue) =>
      glue
        .default({ module_or_path: fetch_(new URL("./leadscore_wasm_bg.wasm", import.meta.url)) })
        .then(() => {
          glue.start(
            { url: landing, config },
            {
              keys,
              get,
              pairs,
              kept,
              parse,
              fetch: fetch_,
              beacon,
              log,
              // Spelled out, so a bundler sees both views and copies them.
              view: (name) =>
                name == "debug"
                  ? import("./leadscore_debug.js")
                  : name == "config"
                    ? import("./leadscore_config.js")
                    : import("./leadscore_privacy.js"),
              guard: (handler) => (a, b) => {
                if (!failed) {
                  try {
                    return handler(a, b);
                  } catch (error) {
                    fail(error);
                  }
                }
              },
            },
          );
          widget = glue.leadscore;
          // By index, not `for…of` or `splice`: page code may have replaced
          // the array methods and iterator a loop would call.
          for (let i = 0; i < queue.length; i++) call(queue[i][0], queue[i][1], queue[i][2]);
          queue.length = 0;
        }),
    )
    .catch((error) => {
      log(error);
      failed = true;
    });
}

/** Marks the page as having a widget: two copies would count everything twice. */
const MARK = Symbol.for("leadscore");

/** Everything the loader does at its first moment, done at the first `init`. */
function begin() {
  started = true;
  // The script tag's loader marks its global with `_ls`; another copy of
  // this package (two bundles on one page) marks the window.
  if (window[MARK] || get(get(window, "leadscore"), "_ls")) {
    fail("another copy of the widget runs on this page; this one stays off");
    return;
  }
  window[MARK] = true;
  landing = document.URL;
  const names = ["pushState", "replaceState"];
  for (let i = 0; i < names.length; i++) {
    const name = names[i];
    const original = history[name];
    history[name] = function () {
      const result = apply(original, this, arguments);
      navigated();
      return result;
    };
  }
  addEventListener("popstate", navigated);
  addEventListener("hashchange", navigated);
  addEventListener("leadscore:consent", (event) => call("consent_event", event.detail));
  try {
    const style = document.createElement("style");
    style.textContent = "[data-leadscore-show]:not([data-leadscore-shown]){display:none!important}";
    (document.head || document.documentElement).appendChild(style);
  } catch (_) {
    // A page without a usable head still gets the widget.
  }
  const idle = () => (globalThis.requestIdleCallback || setTimeout)(load, { timeout: 3000 });
  if (document.readyState == "complete") idle();
  else addEventListener("load", idle);
}

/** Gives the rule set; the first one stays. Loading starts here, after the page's `load`. */
export function init(rules) {
  if (!browser) return null;
  // Like the tag's loader: the first config goes to the module's start,
  // a later one is a call of its own (which the module answers with a warning).
  if (widget || config) return call("init", rules);
  config = rules;
  if (!started) begin();
  return null;
}

/** Counts an event, built-in (`quote_request`) or the site's own (`webinar_join`). */
export const track = (name, props) => call("track", name, props);
/** Records identity answers; fit rules grade them. */
export const identify = (fields) => call("identify", fields);
/** Grants (`true`) or withdraws (`false`) consent. */
export const consent = (granted) => call("consent", granted);
/** Calls `callback` on `stage`, `score`, `mql`, `sent` and `failed`. */
export const on = (type, callback) => call("on", type, callback);
/** Deletes the visitor's record; a new anonymous visitor starts. */
export const forget = () => call("forget");
/** Shows (`true`, the default) or hides the debug overlay. */
export const debug = (show) => call("debug", show);
export const score = () => call("score");
export const stage = () => call("stage");
export const grade = () => call("grade");
export const explain = () => call("explain");
