// Types for the `leadscore` npm package's entry (index.js): the methods of
// the script tag's `leadscore` global as named exports, and the types a site
// needs to write its rule set and read the answers. The types themselves are
// declared once, in leadscore.d.ts (shipped beside this file and in dist/ for
// script-tag sites); this file only names them for `import`. Referencing it
// also declares the global types, and a `leadscore` global that exists only
// where the script tag is on the page: code importing this package calls the
// functions below instead.

/// <reference path="./leadscore.d.ts" />

export type LeadscoreStage = globalThis.LeadscoreStage;
export type LeadscoreGrade = globalThis.LeadscoreGrade;
export type LeadscoreIdentityField = globalThis.LeadscoreIdentityField;
export type LeadscoreScalar = globalThis.LeadscoreScalar;
export type LeadscoreProps = globalThis.LeadscoreProps;
export type LeadscoreIdentity = globalThis.LeadscoreIdentity;
export type LeadscoreDays = globalThis.LeadscoreDays;
export type LeadscoreRule = globalThis.LeadscoreRule;
export type LeadscoreFitRule = globalThis.LeadscoreFitRule;
export type LeadscoreCapture = globalThis.LeadscoreCapture;
export type LeadscorePrivacy = globalThis.LeadscorePrivacy;
export type LeadscoreDeliverySettings = globalThis.LeadscoreDeliverySettings;
export type LeadscoreConfig = globalThis.LeadscoreConfig;
export type LeadscoreLedgerLine = globalThis.LeadscoreLedgerLine;
export type LeadscoreExplanation = globalThis.LeadscoreExplanation;
export type LeadscoreOptOut = globalThis.LeadscoreOptOut;
export type LeadscoreDelivery = globalThis.LeadscoreDelivery;
export type LeadscoreFailure = globalThis.LeadscoreFailure;
export type LeadscoreEvents = globalThis.LeadscoreEvents;
export type LeadscoreMethods = globalThis.LeadscoreMethods;

// Each export is the global object's method of the same name, so the two
// forms cannot drift apart. Calls made before the module is ready are queued
// and replayed; the getters answer `null` until then.

/** Gives the rule set and starts loading the module after the page's `load`, in idle time; the first config stays. */
export declare const init: LeadscoreMethods["init"];
/** Counts an event, built-in (`quote_request`) or the site's own (`webinar_join`). */
export declare const track: LeadscoreMethods["track"];
/** Records identity answers; fit rules grade them. */
export declare const identify: LeadscoreMethods["identify"];
/** Grants (`true`) or withdraws (`false`) consent; withdrawing wipes what was stored. */
export declare const consent: LeadscoreMethods["consent"];
/** Calls `callback` on each `stage`, `score`, `mql`, `sent` or `failed` event. */
export declare const on: LeadscoreMethods["on"];
/** Deletes the visitor's record; a new anonymous visitor starts. */
export declare const forget: LeadscoreMethods["forget"];
/** Shows (`true`, the default) or hides the debug overlay. */
export declare const debug: LeadscoreMethods["debug"];
/** The engagement score now, after decay, to a tenth; `null` until ready. */
export declare const score: LeadscoreMethods["score"];
/** `"cold"`, `"warm"`, `"mql"` or `"sales_ready"`; `null` until ready. */
export declare const stage: LeadscoreMethods["stage"];
/** The fit grade, `"A"` to `"D"`; `null` until ready. */
export declare const grade: LeadscoreMethods["grade"];
/** Everything the widget holds about this visitor, as plain data; `null` until ready. */
export declare const explain: LeadscoreMethods["explain"];
