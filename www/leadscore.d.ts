// Types for the `leadscore` global that www/leadscore.js defines, so a site
// written in TypeScript gets its calls checked and completed. The loader is a
// plain script, not a module, so these are global declarations; `export {}`
// only makes `declare global` legal. The config types follow
// docs/config.schema.json, which the engine's tests keep in step with the parser.
// This file is the one source of these types: the npm package's index.d.ts
// ships beside it and re-exports them for `import { … } from "leadscore"`.

export {};

declare global {
  /** Where a visitor stands, from the score and the thresholds. */
  type LeadscoreStage = "cold" | "warm" | "mql" | "sales_ready";

  /** The fit grade from identity answers; it never mixes with the score. */
  type LeadscoreGrade = "A" | "B" | "C" | "D";

  /** Identity fields the widget accepts; anything else is ignored with a warning. */
  type LeadscoreIdentityField =
    | "email"
    | "name"
    | "first_name"
    | "last_name"
    | "company"
    | "job_title"
    | "company_size"
    | "industry"
    | "country"
    | "phone"
    | "budget"
    | "timeline";

  /**
   * Event properties and identity answers: strings, numbers and booleans,
   * kept as text. `null` and `undefined` values are skipped.
   */
  type LeadscoreScalar = string | number | boolean | null | undefined;

  /** `{kind: "whitepaper"}`: what a rule's `props` conditions match against. */
  type LeadscoreProps = { [name: string]: LeadscoreScalar };

  type LeadscoreIdentity = { [field in LeadscoreIdentityField]?: LeadscoreScalar };

  /** Days: more than 0, at most 3650, fractions allowed. */
  type LeadscoreDays = number;

  /** One engagement rule; see docs/config.md, "Engagement rules". */
  interface LeadscoreRule {
    id: string;
    on: string;
    url?: string;
    props?: { [name: string]: string | number | boolean | Array<string | number | boolean> };
    points: number;
    cap?: number;
    once?: boolean;
    once_every_days?: LeadscoreDays;
    min_count?: number;
    within_days?: LeadscoreDays;
    /** Required for, and only allowed on, `engaged_time` rules. */
    min_seconds?: number;
    /** Required for, and only allowed on, `scroll_depth` rules. */
    min_percent?: number;
    half_life_days?: LeadscoreDays | "never";
    sales_intent?: boolean;
  }

  /** One fit rule: `field` plus exactly one kind of test. */
  interface LeadscoreFitRule {
    id?: string;
    field: LeadscoreIdentityField;
    points: number;
    contains_any?: string[];
    in?: string[];
    not_in?: string[];
    at_least?: number;
    at_most?: number;
    /** Only on the `email` field; only `true` is accepted. */
    free_mail?: true;
    /** Only `true` is accepted. */
    present?: true;
  }

  /** What the widget captures by itself; every part defaults to `true`. */
  interface LeadscoreCapture {
    page_views?: boolean;
    visits?: boolean;
    engaged_time?: boolean;
    scroll_depth?: boolean;
    forms?: boolean;
    form_heuristics?: boolean;
    clicks?: boolean;
    downloads?: boolean;
    ad_clicks?: boolean;
  }

  /**
   * Which consent and opt-out signals the widget honours, whatever the
   * consent mode, and how long the visitor's record is kept; a refusal from
   * any signal wins. See PRIVACY.md.
   */
  interface LeadscorePrivacy {
    /** Honour Global Privacy Control (`navigator.globalPrivacyControl`); default `true`. */
    gpc?: boolean;
    /** Honour Do Not Track (`navigator.doNotTrack == "1"`); default `true`. */
    dnt?: boolean;
    /** Read an IAB TCF v2.2 CMP (`__tcfapi`); default `true`. */
    tcf?: boolean;
    /** TCF purposes (1 to 11) required besides purpose 1; default none. */
    tcf_purposes?: number[];
    /** Read Google Consent Mode v2 from the `dataLayer`; default `true`. */
    consent_mode?: boolean;
    /** Whole days (1 to 3650) without activity after which the stored record is deleted; default 180. */
    retention_days?: number;
    /** Where `forget()` and withdrawal ask for sent leads to be erased; default `/v1/forget` beside an endpoint ending in `/v1/leads`. */
    erase_endpoint?: string;
  }

  /** How leads are posted and retried; see docs/lead.md, "Retry policy". */
  interface LeadscoreDeliverySettings {
    /** `text/plain` (CORS-simple, the default) or `application/json` (needs a preflight cross-origin). */
    content_type?: "text/plain" | "application/json";
    /** Seconds (0.01 to 86400) before the first retry, doubling per attempt; default 2. */
    retry_base_seconds?: number;
    /** Longest delay between attempts in seconds, at least `retry_base_seconds`; default 600. */
    retry_cap_seconds?: number;
    /** Attempts (1 to 1000) after which a lead is given up; default 20. */
    max_attempts?: number;
    /** Age after which a lead is given up; default 7. */
    max_age_days?: LeadscoreDays;
  }

  /** A rule set, as given to `leadscore('init', …)`; docs/config.md has every field. */
  interface LeadscoreConfig {
    $schema?: string;
    site: string;
    endpoint?: string;
    preset?: "b2b-saas" | "ecommerce" | "content";
    consent?: "required" | "implied";
    half_life_days?: LeadscoreDays | "never";
    thresholds?: { warm: number; mql: number; sales_ready: number };
    grades?: { a: number; b: number; c: number };
    mql_requires_identity?: boolean;
    /** Under `required` consent, score the current page in memory before consent (nothing stored or sent). */
    in_memory_before_consent?: boolean;
    /** Required, and not empty, unless `preset` is set. */
    rules?: LeadscoreRule[];
    fit?: LeadscoreFitRule[];
    capture?: LeadscoreCapture;
    identity_fields?: { [field in LeadscoreIdentityField]?: string[] };
    delivery?: LeadscoreDeliverySettings;
    privacy?: LeadscorePrivacy;
  }

  /** One ledger line: what a rule holds now and how often it matched. */
  interface LeadscoreLedgerLine {
    rule: string;
    /** Points held now, after decay. */
    points: number;
    count: number;
    /** First and last match, in milliseconds since the epoch. */
    first: number;
    last: number;
  }

  /** Everything the widget knows about this visitor, from `leadscore.explain()`. */
  interface LeadscoreExplanation {
    site: string;
    score: number;
    stage: LeadscoreStage;
    grade: LeadscoreGrade;
    /** The fit points behind the grade. */
    fit: number;
    /** Whether there is a basis to score and store: consent given, or implied and not withdrawn. */
    consent: boolean;
    /**
     * The signal refusing consent, if any: a browser opt-out (`gpc`, `dnt`)
     * or a consent tool (`tcf`, `consent_mode`); see `privacy` in the config.
     */
    opt_out: LeadscoreOptOut | null;
    storage: "local" | "memory";
    /** The random first-party visitor id. */
    visitor: string;
    ledger: LeadscoreLedgerLine[];
    identity: { [field in LeadscoreIdentityField]?: string };
    warnings: string[];
    /** Leads waiting to be delivered, and how many were dropped, given up or refused. */
    outbox: { pending: number; dropped: number; expired: number; rejected: number };
  }

  /** A source refusing consent, as `explain().opt_out` names it. */
  type LeadscoreOptOut = "gpc" | "dnt" | "tcf" | "consent_mode";

  /** A delivered lead, passed to `on('sent')`. */
  interface LeadscoreDelivery {
    lead_id: string;
    stage: "mql" | "sales_ready";
    /** The endpoint's HTTP status (2xx). */
    status: number;
  }

  /** A lead given up, passed to `on('failed')`. */
  interface LeadscoreFailure {
    lead_id: string;
    stage: "mql" | "sales_ready";
    /** The last HTTP status; null when the last attempt was a network error. */
    status: number | null;
    /** `rejected`: the endpoint refused it (a 4xx); `expired`: `max_attempts` or `max_age_days` ran out. */
    reason: "rejected" | "expired";
  }

  /** What each `on()` event passes to its callback. */
  interface LeadscoreEvents {
    /** The new stage. */
    stage: LeadscoreStage;
    /** The new score, rounded to a whole number. */
    score: number;
    /** The stage reached on qualifying: `"mql"` or `"sales_ready"`. */
    mql: "mql" | "sales_ready";
    /** A lead was accepted by the endpoint (2xx). */
    sent: LeadscoreDelivery;
    /** A lead was refused (a 4xx) or given up after the retry bound. */
    failed: LeadscoreFailure;
  }

  /**
   * Methods return at once. Calls made before the widget is ready are queued
   * and replayed in order; the getters answer `null` until then, and for good
   * if the widget could not load or disabled itself.
   */
  interface LeadscoreMethods {
    /** Counts an event, built-in (`quote_request`) or the site's own (`webinar_join`). */
    track(name: string, props?: LeadscoreProps): void;
    /** Records identity answers; fit rules grade them. */
    identify(fields: LeadscoreIdentity): void;
    /** Grants (`true`) or withdraws (`false`) consent; withdrawing wipes what was stored. */
    consent(granted: boolean): void;
    /** Calls `callback` on each `stage`, `score`, `mql`, `sent` or `failed` event; one that throws is reported, not rethrown. */
    on<K extends keyof LeadscoreEvents>(type: K, callback: (value: LeadscoreEvents[K]) => void): void;
    /** Deletes the visitor's record; a new anonymous visitor starts. */
    forget(): void;
    /** Shows (`true`, the default) or hides the debug overlay. */
    debug(on?: boolean): void;
    /** Gives the rule set in code; the first config the widget gets stays. */
    init(config: LeadscoreConfig): void;
    /** The engagement score now, after decay, to a tenth. */
    score(): number | null;
    stage(): LeadscoreStage | null;
    grade(): LeadscoreGrade | null;
    /** Everything the widget holds about this visitor, as plain data; `null` until it has a config. */
    explain(): LeadscoreExplanation | null;
  }

  /** `leadscore('track', 'webinar_join')` is `leadscore.track('webinar_join')`. */
  interface LeadscoreCall {
    // `on` first, spelled out: `Parameters<>` of a generic method would lose
    // the link between the event name and its callback's value.
    <K extends keyof LeadscoreEvents>(method: "on", type: K, callback: (value: LeadscoreEvents[K]) => void): void;
    <M extends keyof LeadscoreMethods>(
      method: M,
      ...args: Parameters<LeadscoreMethods[M]>
    ): ReturnType<LeadscoreMethods[M]>;
  }

  type Leadscore = LeadscoreCall & LeadscoreMethods;

  // `var`, not `const`: it is a property of `window`, which a snippet's stub
  // may define before the loader replaces it.
  var leadscore: Leadscore;

  interface Window {
    leadscore: Leadscore;
  }
}
