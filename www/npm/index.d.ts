// Types for the `leadscore` package's entry (index.js). The shared types are
// declared in leadscore.d.ts, beside this file, which script-tag sites use too.
/// <reference path="./leadscore.d.ts" />

export declare const init: LeadscoreMethods["init"];
export declare const track: LeadscoreMethods["track"];
export declare const identify: LeadscoreMethods["identify"];
export declare const consent: LeadscoreMethods["consent"];
export declare const on: LeadscoreMethods["on"];
export declare const forget: LeadscoreMethods["forget"];
export declare const debug: LeadscoreMethods["debug"];
export declare const score: LeadscoreMethods["score"];
export declare const stage: LeadscoreMethods["stage"];
export declare const grade: LeadscoreMethods["grade"];
export declare const explain: LeadscoreMethods["explain"];
