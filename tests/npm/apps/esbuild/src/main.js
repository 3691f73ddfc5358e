// The app's whole use of the package: a rule set that makes two demo uses
// an MQL, the stage and the delivered lead shown on the page. esbuild keeps
// the `import()`s of the glue and the views as chunks but does not copy the
// `.wasm` that `new URL(…, import.meta.url)` names: the build script copies it.

import { debug, init, on, track } from "leadscore";

init({
  site: "esbuild-app",
  endpoint: "/v1/leads",
  consent: "implied",
  half_life_days: "never",
  mql_requires_identity: false,
  thresholds: { warm: 10, mql: 20, sales_ready: 100 },
  rules: [{ id: "demo", on: "demo_use", points: 10 }],
});

const show = (id, text) => {
  document.getElementById(id).textContent = text;
};
on("stage", (stage) => show("stage", stage));
on("sent", (report) => show("sent", `${report.stage} ${report.status}`));
document.getElementById("demo").addEventListener("click", () => track("demo_use"));
document.getElementById("debug").addEventListener("click", () => debug(true));
