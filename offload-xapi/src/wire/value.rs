//! The values both wire formats carry, and the error of a malformed body.

use std::collections::BTreeMap;
use std::fmt;

/// One XML-RPC / JSON-RPC value as it travels on the wire.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string, ref, uuid or enum. XML-RPC: untyped `<value>text</value>`.
    String(String),
    /// An int64. xapi sends these untyped, so clients read a decimal string;
    /// JSON-RPC sends an integer literal.
    Int(i64),
    /// An int32 (`<i4>`); xapi uses it only in `event.from`'s `valid_ref_counts`.
    Int32(i32),
    Bool(bool),
    Double(f64),
    /// A datetime in xapi's spelling, for example `19700101T00:00:00Z`.
    DateTime(String),
    Array(Vec<Value>),
    Struct(BTreeMap<String, Value>),
    Nil,
}

impl Value {
    /// A string value.
    pub fn str(text: impl Into<String>) -> Value {
        Value::String(text.into())
    }

    /// A struct from `(key, value)` pairs.
    pub fn structure<K: Into<String>>(members: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Struct(members.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// A string→string map (XAPI's `(string -> string) map`).
    pub fn string_map<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
        Value::Struct(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), Value::str(v)))
                .collect(),
        )
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) | Value::DateTime(s) => Some(s),
            _ => None,
        }
    }

    /// An integer, also from the decimal string XML-RPC clients see.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Int32(i) => Some(i64::from(*i)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Double(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            Value::Int32(i) => Some(f64::from(*i)),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_struct(&self) -> Option<&BTreeMap<String, Value>> {
        match self {
            Value::Struct(members) => Some(members),
            _ => None,
        }
    }

    /// A member of a struct.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_struct()?.get(key)
    }

    /// A short name of the value's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::Int(_) => "int",
            Value::Int32(_) => "i4",
            Value::Bool(_) => "boolean",
            Value::Double(_) => "double",
            Value::DateTime(_) => "dateTime.iso8601",
            Value::Array(_) => "array",
            Value::Struct(_) => "struct",
            Value::Nil => "nil",
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Double(f)
    }
}

/// A body that is not well-formed XML-RPC or JSON-RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    pub message: String,
}

impl WireError {
    pub(crate) fn new(message: impl Into<String>) -> WireError {
        WireError {
            message: message.into(),
        }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for WireError {}
