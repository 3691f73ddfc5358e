// The app's whole use of the package, the same for every bundler the tests
// build it with (tests/npm_e2e.rs copies it into each app): a rule set that
// makes two demo uses an MQL, the stage and the delivered lead shown on the
// page. Vite copies the `.wasm` files that `new URL(…, import.meta.url)` names;
// esbuild keeps the `import()`s of the glue and the views as chunks but
// leaves the `.wasm` files to its build script.

import { debug, identify, init, on, score, track } from "leadscore";

init({
  site: "bundled-app",
  endpoint: "/v1/leads",
  consent: "implied",
  half_life_days: "never",
  mql_requires_identity: false,
  thresholds: { warm: 10, mql: 20, sales_ready: 100 },
  rules: [{ id: "demo", on: "demo_use", points: 10 }],
});

// At once, long before the module loads (after the page's `load`, in idle
// time): the getter answers null and the call waits in the queue.
window.scoreBeforeReady = score();
identify({ company: "Acme" });

const show = (id, text) => {
  document.getElementById(id).textContent = text;
};
on("stage", (stage) => show("stage", stage));
on("sent", (report) => show("sent", `${report.stage} ${report.status}`));
document.getElementById("demo").addEventListener("click", () => track("demo_use"));
document.getElementById("debug").addEventListener("click", () => debug(true));
