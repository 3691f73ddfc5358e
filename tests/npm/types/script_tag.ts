// The script tag's form: the `leadscore` global that leadscore.js defines,
// typed by leadscore.d.ts's global declarations with no import, as a site's
// own script uses it. A script, not a module: its names are the page's.

const siteConfig: LeadscoreConfig = {
  $schema: "https://leadscore.dev/schema/config.schema.json",
  site: "acme",
  endpoint: "https://collect.acme.example/v1/leads",
  preset: "ecommerce",
  consent: "implied",
  half_life_days: "never",
  thresholds: { warm: 15, mql: 40, sales_ready: 70 },
  grades: { a: 15, b: 8, c: 1 },
  mql_requires_identity: false,
  in_memory_before_consent: true,
  rules: [
    { id: "wishlist", on: "wishlist_add", points: 8, cap: 24 },
    { id: "size-guide", on: "download", url: "*size-guide*", points: 3, once: true },
  ],
  fit: [{ id: "buyer", field: "company", present: true, points: 8 }],
  capture: { page_views: true, ad_clicks: false },
  identity_fields: { phone: ["mobile"] },
  delivery: { content_type: "text/plain", max_attempts: 5 },
  privacy: {
    gpc: true,
    dnt: true,
    tcf: false,
    tcf_purposes: [3],
    consent_mode: false,
    retention_days: 30,
    erase_endpoint: "https://collect.acme.example/v1/forget",
  },
};

leadscore.init(siteConfig);
leadscore("init", siteConfig);
window.leadscore.track("webinar_join");
leadscore.track("download", { kind: "trial", size: 12, beta: true, missing: undefined, none: null });
leadscore("track", "cart_add", { sku: "boot-1" });
leadscore.identify({ email: "ada@acme.example", company_size: 250, job_title: "CTO" });
leadscore("identify", { first_name: "Ada" });
leadscore.consent(true);
leadscore("consent", false);
leadscore.forget();
leadscore("forget");
leadscore.debug();
leadscore.debug(false);
leadscore("debug", true);

leadscore.on("stage", (stage: LeadscoreStage) => console.log(stage.toUpperCase()));
leadscore.on("score", (score) => console.log(score.toFixed(0)));
leadscore.on("mql", (stage: "mql" | "sales_ready") => console.log(stage));
leadscore.on("sent", (report: LeadscoreDelivery) => console.log(report.lead_id, report.stage, report.status + 1));
leadscore.on("failed", (report: LeadscoreFailure) => {
  const status: number | null = report.status;
  const reason: "rejected" | "expired" = report.reason;
  console.log(report.lead_id, report.stage, status, reason);
});
leadscore("on", "stage", (stage) => console.log(stage === "sales_ready"));
leadscore("on", "failed", (report) => console.log(report.reason));

const currentScore: number | null = leadscore.score();
const currentStage: LeadscoreStage | null = leadscore("stage");
const currentGrade: LeadscoreGrade | null = leadscore.grade();
const explained: LeadscoreExplanation | null = leadscore.explain();
if (explained) {
  const optOut: "gpc" | "dnt" | "tcf" | "consent_mode" | null = explained.opt_out;
  const storage: "local" | "memory" = explained.storage;
  const line: LeadscoreLedgerLine | undefined = explained.ledger[0];
  console.log(
    explained.site,
    explained.score,
    explained.stage,
    explained.grade,
    explained.fit,
    explained.consent,
    optOut,
    storage,
    explained.visitor,
    line && [line.rule, line.points, line.count, line.first, line.last],
    explained.identity.email,
    explained.warnings.join(),
    explained.outbox.pending + explained.outbox.dropped + explained.outbox.expired + explained.outbox.rejected,
  );
}
console.log(currentScore, currentStage, currentGrade);

// @ts-expect-error: no such event
leadscore.on("qualified", () => {});
// @ts-expect-error: no such event, in the call form
leadscore("on", "lead", () => {});
// @ts-expect-error: a stage callback gets a stage, not a number
leadscore.on("stage", (stage: number) => console.log(stage));
// @ts-expect-error: "hot" is not a stage
const hot: LeadscoreStage = "hot";
// @ts-expect-error: explain() may be null before the module is ready
leadscore.explain().ledger;
// @ts-expect-error: opt_out has no such source
const unknownOptOut: LeadscoreExplanation["opt_out"] = "cookie_banner";
// @ts-expect-error: consent takes a boolean
leadscore.consent("yes");
// @ts-expect-error: props are flat: no nested objects
leadscore.track("x", { nested: { a: 1 } });
// @ts-expect-error: identify knows its fields
leadscore.identify({ shoe_size: 44 });
// @ts-expect-error: no such method
leadscore("flush");
console.log(hot, unknownOptOut);
