// Types for the `leadscore` global that www/leadscore.js defines, so a site
// written in TypeScript gets its calls checked and completed. The loader is a
// plain script, not a module, so these are global declarations; `export {}`
// only makes `declare global` legal. The config types follow
// docs/config.schema.json, which the engine's tests keep in step with the parser.

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
    /** Only on the `email` field. */
    free_mail?: boolean;
    present?: boolean;
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
    /** Required, and not empty, unless `preset` is set. */
    rules?: LeadscoreRule[];
    fit?: LeadscoreFitRule[];
    capture?: LeadscoreCapture;
    identity_fields?: { [field in LeadscoreIdentityField]?: string[] };
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
    /** The browser opt-out signal that stops the widget, if any (see `privacy` in the config). */
    opt_out: "gpc" | "dnt" | null;
    storage: "local" | "memory";
    /** The random first-party visitor id. */
    visitor: string;
    ledger: LeadscoreLedgerLine[];
    identity: { [field in LeadscoreIdentityField]?: string };
    warnings: string[];
    /** Leads waiting to be delivered, and how many were dropped, given up or refused. */
    outbox: { pending: number; dropped: number; expired: number; rejected: number };
  }

  /** A lead's delivery report, passed to `on('sent')` and `on('failed')`. */
  interface LeadscoreDelivery {
    lead_id: string;
    stage: "mql" | "sales_ready";
    /** The endpoint's HTTP status; null for a network error. */
    status: number | null;
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
    failed: LeadscoreDelivery & { reason: "rejected" | "expired" };
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
    on<K extends keyof LeadscoreEvents>(type: K, callback: (value: LeadscoreEvents[K]) => void): void;
    /** Deletes the visitor's record; a new anonymous visitor starts. */
    forget(): void;
    /** Shows (`true`, the default) or hides the debug overlay. */
    debug(on?: boolean): void;
    /** Gives the rule set in code; the first config the widget gets stays. */
    init(config: LeadscoreConfig): void;
    score(): number | null;
    stage(): LeadscoreStage | null;
    grade(): LeadscoreGrade | null;
    explain(): LeadscoreExplanation | null;
  }

  /** `leadscore('track', 'webinar_join')` is `leadscore.track('webinar_join')`. */
  interface LeadscoreCall {
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
