//! Keeps `docs/config.schema.json` in step with the config parser, checked by
//! behaviour: every field the schema lists is one the parser knows, every field
//! the parser knows is in the schema, required fields, numeric bounds and
//! defaults agree, and the presets use only fields the schema lists.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeSet;
use std::fmt;

use leadscore::core::config::{
    DEFAULT_HALF_LIFE_DAYS, MAX_CAP, MAX_DAYS, MAX_FIT_RULES, MAX_MIN_COUNT, MAX_POINTS, MAX_RULES,
};
use leadscore::core::event::BUILT_IN_EVENTS;
use leadscore::core::time::DAY_MS;
use leadscore::core::{Config, ConfigError, ConfigErrorKind as Kind, ConsentMode, Field, Preset};
use serde_json::{json, Map, Value};

const SCHEMA_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/config.schema.json");

fn schema() -> Value {
    let text = std::fs::read_to_string(SCHEMA_PATH).unwrap_or_else(|error| panic!("{SCHEMA_PATH}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{SCHEMA_PATH} is not JSON: {error}"))
}

/// Follows local `$ref`s until a node without one.
fn resolve<'a>(schema: &'a Value, mut node: &'a Value) -> &'a Value {
    while let Some(reference) = node.get("$ref").and_then(Value::as_str) {
        let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("only local $refs are used: {reference}"));
        node = schema.pointer(pointer).unwrap_or_else(|| panic!("dangling $ref {reference}"));
    }
    node
}

/// The objects of a config document that reject unknown fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    Top,
    Rule,
    Fit,
    Thresholds,
    Grades,
}

impl Scope {
    const ALL: [Scope; 5] = [Scope::Top, Scope::Rule, Scope::Fit, Scope::Thresholds, Scope::Grades];

    /// The object schema of this scope.
    fn node(self, schema: &Value) -> &Value {
        let node = match self {
            Scope::Top => schema,
            Scope::Rule => &schema["properties"]["rules"]["items"],
            Scope::Fit => &schema["properties"]["fit"]["items"],
            Scope::Thresholds => &schema["properties"]["thresholds"],
            Scope::Grades => &schema["properties"]["grades"],
        };
        resolve(schema, node)
    }

    /// The property names the schema lists here, in schema order.
    fn fields(self, schema: &Value) -> Vec<String> {
        let properties = self.node(schema)["properties"].as_object();
        properties.unwrap_or_else(|| panic!("{self}: no properties in the schema")).keys().cloned().collect()
    }

    /// A valid object for this scope.
    fn base(self) -> Map<String, Value> {
        let object = match self {
            Scope::Top => json!({ "site": "acme", "rules": [rule()] }),
            Scope::Rule => rule(),
            Scope::Fit => json!({ "field": "email", "points": 1, "present": true }),
            Scope::Thresholds => json!({ "warm": 20, "mql": 50, "sales_ready": 80 }),
            Scope::Grades => json!({ "a": 20, "b": 10, "c": 1 }),
        };
        match object {
            Value::Object(map) => map,
            _ => unreachable!("every base is an object"),
        }
    }

    /// A whole config document with `object` in this scope.
    fn document(self, object: Map<String, Value>) -> String {
        let document = match self {
            Scope::Top => Value::Object(object),
            Scope::Rule => json!({ "site": "acme", "rules": [object] }),
            Scope::Fit => json!({ "site": "acme", "rules": [rule()], "fit": [object] }),
            Scope::Thresholds => json!({ "site": "acme", "rules": [rule()], "thresholds": object }),
            Scope::Grades => json!({ "site": "acme", "rules": [rule()], "grades": object }),
        };
        document.to_string()
    }

    /// The error path of field `name` in this scope.
    fn path(self, name: &str) -> String {
        match self {
            Scope::Top => name.to_string(),
            Scope::Rule => format!("rules[0].{name}"),
            Scope::Fit => format!("fit[0].{name}"),
            Scope::Thresholds => format!("thresholds.{name}"),
            Scope::Grades => format!("grades.{name}"),
        }
    }

    /// The base object with `name` set to `value`, plus whatever other fields
    /// the parser needs for `name` to be judged on its own.
    fn with(self, schema: &Value, name: &str, value: Value) -> Map<String, Value> {
        let mut object = self.base();
        match (self, name) {
            (Scope::Fit, _) if fit_conditions(schema).contains(name) => {
                for condition in fit_conditions(schema) {
                    object.remove(&condition);
                }
            }
            (Scope::Rule, "within_days") => {
                object.insert("min_count".into(), json!(2));
            }
            (Scope::Rule, "min_seconds") => {
                object.insert("on".into(), json!("engaged_time"));
            }
            (Scope::Rule, "min_percent") => {
                object.insert("on".into(), json!("scroll_depth"));
            }
            _ => {}
        }
        object.insert(name.to_string(), value);
        object
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

fn rule() -> Value {
    json!({ "id": "r", "on": "page_view", "points": 5 })
}

fn parse(document: &str) -> Result<Config, ConfigError> {
    Config::parse(document)
}

/// The fit conditions: the fields named by the schema's "exactly one of" branches.
fn fit_conditions(schema: &Value) -> BTreeSet<String> {
    fn required(branch: &Value, into: &mut BTreeSet<String>) {
        for name in branch["required"].as_array().into_iter().flatten() {
            into.insert(name.as_str().expect("required lists strings").to_string());
        }
        for nested in branch["anyOf"].as_array().into_iter().flatten() {
            required(nested, into);
        }
    }
    let mut conditions = BTreeSet::new();
    let branches = Scope::Fit.node(schema)["oneOf"].as_array().expect("fit rules have a oneOf of conditions");
    for branch in branches {
        required(branch, &mut conditions);
    }
    conditions
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The JSON types a property's schema admits (`integer` as written).
fn json_types(schema: &Value, node: &Value, into: &mut BTreeSet<String>) {
    let node = resolve(schema, node);
    match node.get("type") {
        Some(Value::String(name)) => {
            into.insert(name.clone());
        }
        Some(Value::Array(names)) => into.extend(names.iter().filter_map(Value::as_str).map(str::to_string)),
        _ => {}
    }
    if let Some(value) = node.get("const") {
        into.insert(type_of(value).to_string());
    }
    for value in node["enum"].as_array().into_iter().flatten() {
        into.insert(type_of(value).to_string());
    }
    for key in ["oneOf", "anyOf"] {
        for branch in node[key].as_array().into_iter().flatten() {
            json_types(schema, branch, into);
        }
    }
}

/// One value of each JSON type the property's schema does not admit (`null`
/// aside, which the parser reads as absent); an object first when it can be.
fn wrong_typed(schema: &Value, scope: Scope, name: &str) -> Vec<Value> {
    let mut types = BTreeSet::new();
    json_types(schema, &scope.node(schema)["properties"][name], &mut types);
    assert!(!types.is_empty(), "{scope}.{name}: the schema gives no type");
    if types.contains("integer") {
        types.insert("number".to_string());
    }
    let values: Vec<Value> = [json!({}), json!(true), json!([]), json!("x"), json!(1)]
        .into_iter()
        .filter(|value| !types.contains(type_of(value)))
        .collect();
    assert!(!values.is_empty(), "{scope}.{name}: the schema admits every JSON type");
    values
}

#[test]
fn every_field_in_the_schema_is_known_to_the_parser() {
    let schema = schema();
    for scope in Scope::ALL {
        for name in scope.fields(&schema) {
            if name == "$schema" {
                // Listed so editors accept it; the parser ignores its value.
                for value in [json!("https://leadscore.dev/schema/config.schema.json"), json!({})] {
                    let document = scope.document(scope.with(&schema, &name, value));
                    parse(&document).unwrap_or_else(|error| panic!("{document}: {error}"));
                }
                continue;
            }
            for value in wrong_typed(&schema, scope, &name) {
                let document = scope.document(scope.with(&schema, &name, value));
                let error = parse(&document).expect_err(&document);
                assert_ne!(error.kind(), Kind::UnknownField, "{scope}: the parser does not know {name:?}: {error}");
                assert!(error.path().ends_with(name.as_str()), "{document}\n  error elsewhere: {error}");
                assert_eq!(error.path(), scope.path(&name), "{document}: {error}");
                assert_eq!(
                    error.kind(),
                    Kind::WrongType,
                    "{document}: the schema does not admit this type, so the parser should call it the wrong type: {error}"
                );
            }
        }
    }
}

#[test]
fn every_field_the_parser_knows_is_in_the_schema() {
    let schema = schema();
    for scope in Scope::ALL {
        let node = scope.node(&schema);
        assert_eq!(
            node.get("additionalProperties"),
            Some(&Value::Bool(false)),
            "{scope}: the parser rejects unknown fields, so the schema must too"
        );
        let listed: BTreeSet<String> = scope.fields(&schema).into_iter().filter(|name| name != "$schema").collect();
        assert!(!listed.contains("zzz"), "{scope}: the probe field must be unknown");
        let document = scope.document(scope.with(&schema, "zzz", json!(1)));
        let error = parse(&document).expect_err(&document);
        assert_eq!(error.kind(), Kind::UnknownField, "{document}: {error}");
        assert_eq!(error.path(), scope.path("zzz"));
        let (_, known) = error
            .message()
            .split_once("known fields here: ")
            .unwrap_or_else(|| panic!("{scope}: the message does not list the known fields: {error}"));
        let known: BTreeSet<String> = known.split(", ").map(str::to_string).collect();
        assert_eq!(known, listed, "{scope}: the parser's known fields (left) differ from the schema's (right)");
    }
}

#[test]
fn required_fields_agree() {
    let schema = schema();
    for scope in Scope::ALL {
        let node = scope.node(&schema);
        let mut required: BTreeSet<&str> =
            node["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        if scope == Scope::Top {
            // The base config has no preset, so the schema's `then` applies.
            required.extend(schema["then"]["required"].as_array().into_iter().flatten().filter_map(Value::as_str));
        }
        for name in scope.fields(&schema) {
            let mut object = scope.base();
            if object.remove(&name).is_none() {
                assert!(!required.contains(name.as_str()), "{scope}: base objects hold every required field");
                continue;
            }
            let result = parse(&scope.document(object));
            match (required.contains(name.as_str()), result) {
                (true, Err(error)) => {
                    assert_eq!((error.kind(), error.path()), (Kind::Missing, scope.path(&name).as_str()), "{error}");
                }
                (true, Ok(_)) => panic!("{scope}: the schema requires {name:?} but the parser does without"),
                (false, Err(error)) if error.path() == scope.path(&name) => {
                    panic!("{scope}: the parser requires {name:?} but the schema does not: {error}")
                }
                (false, _) => {}
            }
        }
    }

    // "rules" is required, and not empty, unless a preset supplies them.
    let then = &schema["then"];
    assert_eq!(schema["if"], json!({ "not": { "required": ["preset"] } }));
    assert_eq!(then["required"], json!(["rules"]));
    assert_eq!(then["properties"]["rules"]["minItems"], json!(1));
    for document in [json!({ "site": "acme" }), json!({ "site": "acme", "rules": [] })] {
        let error = parse(&document.to_string()).expect_err("no rules");
        assert_eq!((error.kind(), error.path()), (Kind::Missing, "rules"), "{error}");
    }
    for document in
        [json!({ "site": "acme", "preset": "content" }), json!({ "site": "acme", "preset": "content", "rules": [] })]
    {
        parse(&document.to_string()).unwrap_or_else(|error| panic!("{document}: {error}"));
    }
}

/// A property's numeric bounds, from its own schema or its numeric `oneOf` branch.
fn numeric<'a>(schema: &'a Value, node: &'a Value) -> Option<&'a Value> {
    let node = resolve(schema, node);
    if matches!(node["type"].as_str(), Some("number" | "integer")) {
        return Some(node);
    }
    ["oneOf", "anyOf"]
        .into_iter()
        .flat_map(|key| node[key].as_array().into_iter().flatten())
        .find_map(|branch| numeric(schema, branch))
}

#[test]
fn numeric_bounds_agree() {
    let schema = schema();
    let mut checked = 0;
    for scope in Scope::ALL {
        for name in scope.fields(&schema) {
            let Some(node) = numeric(&schema, &scope.node(&schema)["properties"][name.as_str()]) else { continue };
            let integer = node["type"] == "integer";
            let step = if integer { 1.0 } else { 0.5 };
            let path = scope.path(&name);
            let judge = |value: f64| {
                let value = if integer { json!(value as i64) } else { json!(value) };
                let document = scope.document(scope.with(&schema, &name, value));
                (parse(&document).err(), document)
            };
            let accepted = |value: f64| {
                let (error, document) = judge(value);
                // Increasing thresholds and grades are beyond JSON Schema; the
                // parser reports a broken order on the higher field.
                let order_error = |error: &ConfigError| error.message().starts_with("must be greater than");
                if let Some(error) = error.filter(|error| error.path() == path && !order_error(error)) {
                    panic!("{document}: the schema allows {value} but the parser refuses it: {error}");
                }
            };
            let refused = |value: f64| {
                let (error, document) = judge(value);
                let error = error.unwrap_or_else(|| panic!("{document}: the parser accepts {value}"));
                assert_eq!((error.kind(), error.path()), (Kind::OutOfRange, path.as_str()), "{document}: {error}");
            };
            let minimum = node["minimum"].as_f64();
            let exclusive_minimum = node["exclusiveMinimum"].as_f64();
            let maximum = node["maximum"].as_f64().unwrap_or_else(|| panic!("{scope}.{name}: no maximum"));
            match (minimum, exclusive_minimum) {
                (Some(minimum), None) => {
                    accepted(minimum);
                    refused(minimum - step);
                }
                (None, Some(minimum)) => {
                    accepted(minimum + 0.001);
                    refused(minimum);
                }
                _ => panic!("{scope}.{name}: needs exactly one of minimum and exclusiveMinimum"),
            }
            accepted(maximum);
            refused(maximum + step);
            if integer {
                let document = scope.document(scope.with(&schema, &name, json!(maximum - 0.5)));
                let error = parse(&document).expect_err("integers have no fraction");
                assert_eq!((error.kind(), error.path()), (Kind::OutOfRange, path.as_str()), "{error}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 18, "only {checked} numeric fields found in the schema");
}

fn strings(values: &Value) -> Vec<&str> {
    values.as_array().into_iter().flatten().filter_map(Value::as_str).collect()
}

#[test]
fn enums_limits_and_defaults_match_the_code() {
    let schema = schema();
    let top = &schema["properties"];
    let rule = &Scope::Rule.node(&schema)["properties"];
    let fit = &Scope::Fit.node(&schema)["properties"];
    let days = resolve(&schema, &rule["within_days"]);

    assert_eq!(strings(&top["preset"]["enum"]), Preset::ALL.map(Preset::name));
    assert_eq!(strings(&fit["field"]["enum"]), Field::ALL.map(Field::name));
    assert_eq!(strings(&rule["on"]["examples"]), BUILT_IN_EVENTS);
    assert_eq!(top["rules"]["maxItems"], json!(MAX_RULES));
    assert_eq!(top["fit"]["maxItems"], json!(MAX_FIT_RULES));
    for points in [&rule["points"], &fit["points"]] {
        assert_eq!((&points["minimum"], &points["maximum"]), (&json!(-MAX_POINTS), &json!(MAX_POINTS)));
    }
    assert_eq!(rule["cap"]["maximum"], json!(MAX_CAP));
    assert_eq!(rule["min_count"]["maximum"], json!(MAX_MIN_COUNT));
    assert_eq!(days["maximum"].as_f64(), Some(MAX_DAYS));
    assert_eq!(top["half_life_days"]["default"].as_f64(), Some(DEFAULT_HALF_LIFE_DAYS));

    let config = parse(&Scope::Top.document(Scope::Top.base())).expect("the base config parses");
    assert_eq!(config.half_life_ms(), Some((DEFAULT_HALF_LIFE_DAYS * DAY_MS as f64) as u64));
    let consent = match config.consent() {
        ConsentMode::Required => "required",
        ConsentMode::Implied => "implied",
    };
    assert_eq!(top["consent"]["default"], json!(consent));
    assert_eq!(top["mql_requires_identity"]["default"], json!(config.mql_requires_identity()));
    let (thresholds, defaults) = (config.thresholds(), &top["thresholds"]["default"]);
    assert_eq!(
        [&defaults["warm"], &defaults["mql"], &defaults["sales_ready"]].map(Value::as_f64),
        [thresholds.warm, thresholds.mql, thresholds.sales_ready].map(Some)
    );
    let grades = config.grades();
    assert_eq!(top["grades"]["default"], json!({ "a": grades.a, "b": grades.b, "c": grades.c }));
    assert_eq!(rule["min_count"]["default"], json!(1));
    assert_eq!(rule["once"]["default"], json!(false));
}

/// Collects the paths of fields in `value` that the schema `node` does not list.
fn unlisted_fields(schema: &Value, node: &Value, value: &Value, path: &str, unlisted: &mut Vec<String>) {
    let node = resolve(schema, node);
    match value {
        Value::Object(map) => {
            let closed = node.get("additionalProperties") == Some(&Value::Bool(false));
            for (key, child) in map {
                let child_path = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                match node["properties"].get(key) {
                    Some(child_node) => unlisted_fields(schema, child_node, child, &child_path, unlisted),
                    None if closed => unlisted.push(child_path),
                    // An open object (rule props): its keys are the site's own.
                    None => {}
                }
            }
        }
        Value::Array(items) => match node.get("items") {
            Some(items_node) => {
                for (index, item) in items.iter().enumerate() {
                    unlisted_fields(schema, items_node, item, &format!("{path}[{index}]"), unlisted);
                }
            }
            None => assert!(
                items.iter().all(|item| !item.is_object()),
                "{path}: an array of objects with no item schema to check them against"
            ),
        },
        _ => {}
    }
}

#[test]
fn presets_use_only_fields_the_schema_lists() {
    let schema = schema();
    for preset in Preset::ALL {
        let document: Value = serde_json::from_str(preset.json()).unwrap_or_else(|error| panic!("{preset}: {error}"));
        let mut unlisted = Vec::new();
        unlisted_fields(&schema, &schema, &document, "", &mut unlisted);
        assert!(unlisted.is_empty(), "preset {preset} uses fields the schema does not list: {unlisted:?}");
        assert!(!document["rules"].as_array().unwrap_or(&Vec::new()).is_empty(), "preset {preset} has rules to check");
    }
}
