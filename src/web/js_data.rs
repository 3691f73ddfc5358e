//! Plain data across the JS boundary without serde-wasm-bindgen: a config
//! object given to `init` read as JSON, and `explain()`'s answer built as
//! plain objects. Hand-written because that crate's generic serializer and
//! deserializer cost about 10 KB of wasm for these two uses, and because
//! objects are read by their own properties only (through the loader's
//! builtins) and written by plain assignment, so a page that replaced
//! `Object.entries` or `Reflect.set` changes nothing.

use crate::core::float::fract;
use crate::core::json::{Json as Value, Number as JsonNumber, Object as JsonObject};
use crate::core::text::{int, uint};
use crate::prelude::*;
use js_sys::{Array, ArrayBuffer, Map, Object, Symbol, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

/// Deeper nesting than any config needs; a cyclic object ends here instead
/// of overflowing the stack.
const MAX_DEPTH: usize = 128;

/// Reads a JS value as JSON data: `null` and `undefined` are `null`, safe
/// integers and BigInts in range are integers, other numbers floats (NaN and
/// infinities `null`), arrays are arrays, and plain objects and `Map`s with
/// string keys are objects. Functions, symbols, binary data and other
/// iterables are errors.
pub(crate) fn json(value: &JsValue) -> Result<Value, String> {
    json_at(value, 0)
}

fn json_at(value: &JsValue, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(cat!("nested more than ", uint(MAX_DEPTH as u64), " levels deep"));
    }
    if value.loose_eq(&JsValue::NULL) {
        return Ok(Value::Null);
    }
    if let Some(flag) = value.as_bool() {
        return Ok(Value::Bool(flag));
    }
    if value.is_bigint() {
        return i64::try_from(value.clone())
            .map(|number| Value::Number(JsonNumber::from_parts(number as f64, int(number))))
            .or_else(|value| {
                u64::try_from(value).map(|number| Value::Number(JsonNumber::from_parts(number as f64, uint(number))))
            })
            .map_err(|_| "a BigInt outside the 64-bit range".to_string());
    }
    if let Some(number) = value.as_f64() {
        // `Number.isSafeInteger`'s test, here rather than through the page's
        // `Number`, which a page can replace.
        return Ok(if fract(number) == 0.0 && number.abs() <= 9_007_199_254_740_991.0 {
            Value::Number(JsonNumber::from_i64(number as i64))
        } else if number.is_finite() {
            Value::Number(JsonNumber::from_parts(number, crate::core::json::format_number(number)))
        } else {
            Value::Null
        });
    }
    if let Some(text) = value.as_string() {
        return Ok(Value::String(text));
    }
    if super::dom::is_array(value) {
        let items = value.unchecked_ref::<Array>();
        return items.iter().map(|item| json_at(&item, depth + 1)).collect::<Result<_, _>>().map(Value::Array);
    }
    if value.is_instance_of::<Uint8Array>() || value.is_instance_of::<ArrayBuffer>() {
        return Err("binary data".to_string());
    }
    let is_map = value.is_instance_of::<Map>();
    if !value.is_object() || (!is_map && Symbol::iterator().js_in(value)) {
        return Err(cat!(value.js_typeof().as_string().unwrap_or_default(), " is not JSON data"));
    }
    let mut object = JsonObject::new();
    if is_map {
        for entry in Array::from(value).iter() {
            let entry = entry.unchecked_into::<Array>();
            let key = entry.get(0).as_string().ok_or("an object key that is not a string")?;
            object.insert(key, json_at(&entry.get(1), depth + 1)?);
        }
    } else {
        for (key, item) in super::dom::own_entries(value) {
            object.insert(key, json_at(&item, depth + 1)?);
        }
    }
    Ok(Value::Object(object))
}

/// A plain object with `entries` set in order.
pub(crate) fn object<'a>(entries: impl IntoIterator<Item = (&'a str, JsValue)>) -> JsValue {
    let object: super::dom::Plain = Object::new().unchecked_into();
    for (key, value) in entries {
        object.set(key, &value);
    }
    object.into()
}

/// An array of `items`, filled by index: `collect()` would call
/// `Array.prototype.push`, which pages are known to replace or break.
pub(crate) fn array(items: impl IntoIterator<Item = JsValue>) -> JsValue {
    let items: Vec<JsValue> = items.into_iter().collect();
    let array: super::dom::Plain = Array::new_with_length(items.len() as u32).unchecked_into();
    for (index, item) in items.iter().enumerate() {
        array.set_index(index as u32, item);
    }
    array.into()
}
