// A rule set with every field the config knows, typed as the package's
// `LeadscoreConfig`; both usage files hand it to `init`.

import type { LeadscoreConfig, LeadscorePrivacy, LeadscoreRule } from "leadscore";

const privacy: LeadscorePrivacy = {
  gpc: true,
  dnt: false,
  tcf: true,
  tcf_purposes: [2, 7],
  consent_mode: true,
  retention_days: 90,
  erase_endpoint: "/v1/forget",
};

const rules: LeadscoreRule[] = [
  { id: "repeat-visit", on: "visit", min_count: 2, points: 10, cap: 20 },
  {
    id: "pricing-3x",
    on: "page_view",
    url: "/pricing*",
    min_count: 3,
    within_days: 7,
    points: 15,
    once_every_days: 7,
  },
  { id: "docs-read", on: "engaged_time", url: "/docs/*", min_seconds: 120, points: 4 },
  { id: "deep-scroll", on: "scroll_depth", min_percent: 75, points: 2 },
  { id: "guides", on: "download", props: { kind: ["whitepaper", "ebook"], lang: "en", v: 2, ok: true }, points: 10 },
  { id: "trial", on: "download", props: { kind: "trial" }, points: 20, once: true },
  { id: "meeting", on: "meeting_booked", points: 40, sales_intent: true, half_life_days: 60 },
  { id: "unsubscribe", on: "unsubscribe", points: -30, once: true, half_life_days: "never" },
];

export const config: LeadscoreConfig = {
  $schema: "https://leadscore.dev/schema/config.schema.json",
  site: "acme",
  endpoint: "/v1/leads",
  preset: "b2b-saas",
  consent: "required",
  half_life_days: 30,
  thresholds: { warm: 20, mql: 50, sales_ready: 80 },
  grades: { a: 25, b: 12, c: 1 },
  mql_requires_identity: true,
  in_memory_before_consent: false,
  rules,
  fit: [
    { id: "senior", field: "job_title", contains_any: ["vp", "director"], points: 15 },
    { field: "company_size", at_least: 50, at_most: 5000, points: 10 },
    { field: "industry", in: ["software"], points: 5 },
    { field: "country", not_in: ["de"], points: -5 },
    { field: "phone", present: true, points: 2 },
    { field: "email", free_mail: true, points: -10 },
  ],
  capture: {
    page_views: true,
    visits: true,
    engaged_time: true,
    scroll_depth: false,
    forms: true,
    form_heuristics: false,
    clicks: true,
    downloads: true,
    ad_clicks: true,
  },
  identity_fields: { job_title: ["position"], company: ["org", "firma"] },
  delivery: {
    content_type: "application/json",
    retry_base_seconds: 2,
    retry_cap_seconds: 600,
    max_attempts: 20,
    max_age_days: 7,
  },
  privacy,
};

// @ts-expect-error: `site` is required
export const noSite: LeadscoreConfig = { preset: "content" };

// @ts-expect-error: an unknown preset
export const badPreset: LeadscoreConfig = { site: "acme", preset: "ecomerce" };

// @ts-expect-error: consent is "required" or "implied"
export const badConsent: LeadscoreConfig = { site: "acme", consent: "opt-in" };

// @ts-expect-error: a misspelt privacy field
export const badPrivacy: LeadscoreConfig = { site: "acme", privacy: { gcp: false } };

// @ts-expect-error: tcf_purposes are numbers
export const badPurposes: LeadscoreConfig = { site: "acme", privacy: { tcf_purposes: ["2"] } };

// @ts-expect-error: content_type is text/plain or application/json
export const badDelivery: LeadscoreConfig = { site: "acme", delivery: { content_type: "text/html" } };

// @ts-expect-error: a rule needs points
export const noPoints: LeadscoreRule = { id: "x", on: "x" };

// @ts-expect-error: fit rules read identity fields only
export const badField: LeadscoreConfig = { site: "acme", fit: [{ field: "jobtitle", present: true, points: 1 }] };

// @ts-expect-error: free_mail accepts only true
export const badFreeMail: LeadscoreConfig = { site: "acme", fit: [{ field: "email", free_mail: false, points: 1 }] };
