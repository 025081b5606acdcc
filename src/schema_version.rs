//! The version of synthmark's machine-readable reports (`check` and `stamp` in JSON and NDJSON,
//! the HTTP service, the Python package), carried as `schema_version` in every report so a
//! consumer can tell which schema an object follows. It changes only when a field is removed or
//! changes meaning; new optional fields keep it. The JSON Schemas themselves are generated from
//! the Rust types ([`crate::Report::json_schema`], [`crate::StampRecord::json_schema`]) and
//! committed under `schema/`.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Serialize, Serializer};

/// The schema version every report carries.
pub const SCHEMA_VERSION: u32 = 1;

/// A field that always serialises as [`SCHEMA_VERSION`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SchemaVersion;

impl Serialize for SchemaVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(SCHEMA_VERSION)
    }
}

impl JsonSchema for SchemaVersion {
    fn schema_name() -> Cow<'static, str> {
        "SchemaVersion".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The version of this report's schema.",
            "type": "integer",
            "const": SCHEMA_VERSION,
        })
    }
}

/// Adds `fields` to the schema's `required` list. schemars leaves an `Option` field optional
/// (and `#[schemars(required)]` would also drop its `null`), but some fields are always
/// serialised, `null` when unknown: a consumer may rely on them being there.
pub(crate) fn require_fields(schema: &mut Schema, fields: &[&str]) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    let required = object
        .entry("required")
        .or_insert_with(|| serde_json::Value::Array(Vec::new()));
    if let Some(list) = required.as_array_mut() {
        for field in fields {
            if !list.iter().any(|name| name == field) {
                list.push(serde_json::Value::from(*field));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_serialises_as_the_current_version() {
        assert_eq!(serde_json::to_string(&SchemaVersion).unwrap(), "1");
    }
}
