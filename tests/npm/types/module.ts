// The npm package's form: named exports of "leadscore" (resolved to
// dist/npm/ by tsconfig.json's `paths`), as a bundled app imports them.

import {
  consent,
  debug,
  explain,
  forget,
  grade,
  identify,
  init,
  on,
  score,
  stage,
  track,
  type LeadscoreDelivery,
  type LeadscoreExplanation,
  type LeadscoreFailure,
  type LeadscoreGrade,
  type LeadscoreMethods,
  type LeadscoreOptOut,
  type LeadscoreStage,
} from "leadscore";
import * as leadscoreModule from "leadscore";
import { config } from "./config";

init(config);
track("webinar_join");
track("download", { kind: "whitepaper", pages: 12, gated: false });
identify({ email: "ada@acme.example", budget: "10k-50k" });
consent(true);
consent(false);
forget();
debug();
debug(true);

on("stage", (next: LeadscoreStage) => console.log(next));
on("score", (points: number) => console.log(points));
on("mql", (reached) => console.log(reached === "sales_ready"));
on("sent", (report: LeadscoreDelivery) => console.log(report.status));
on("failed", (report: LeadscoreFailure) => console.log(report.reason, report.status ?? "network error"));

const now: [number | null, LeadscoreStage | null, LeadscoreGrade | null] = [score(), stage(), grade()];
const explained: LeadscoreExplanation | null = explain();
const optOut: LeadscoreOptOut | null | undefined = explained?.opt_out;
console.log(now, optOut, explained?.ledger.map((line) => line.rule));

// The module is the global object's methods, one for one.
const methods: LeadscoreMethods = leadscoreModule;
console.log(methods);

// @ts-expect-error: no such event
on("lead", () => {});
// @ts-expect-error: a sent report's status is a number, never a string
on("sent", (report: { status: string }) => console.log(report));
// @ts-expect-error: "hot" is not a stage
const hot: LeadscoreStage = "hot";
// @ts-expect-error: the getters answer null until the module is ready
const sure: number = score();
// @ts-expect-error: init takes a rule set object, not a URL
init("/site.json");
console.log(hot, sure);
