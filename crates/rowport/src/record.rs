//! [`Record`]: one row of a table as the import engine and the hooks see it.

use std::sync::Arc;

use crate::value::Value;

/// Attribute → value: one row of a table, or the instance a file row becomes.
///
/// The attribute names are shared by every record of an import, so a record costs one
/// vector of values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    names: Arc<[String]>,
    values: Vec<Value>,
}

impl Record {
    /// A record of nulls for these attribute names.
    pub fn new(names: Arc<[String]>) -> Self {
        let values = vec![Value::Null; names.len()];
        Record { names, values }
    }

    /// A record of these attribute names with these values (as many as names).
    pub(crate) fn with_values(names: Arc<[String]>, values: Vec<Value>) -> Self {
        debug_assert_eq!(names.len(), values.len());
        Record { names, values }
    }

    /// The value of `attribute`, if the record has that attribute.
    pub fn get(&self, attribute: &str) -> Option<&Value> {
        self.position(attribute).map(|i| &self.values[i])
    }

    /// Sets `attribute`; returns false when the record has no such attribute.
    pub fn set(&mut self, attribute: &str, value: Value) -> bool {
        match self.position(attribute) {
            Some(i) => {
                self.values[i] = value;
                true
            }
            None => false,
        }
    }

    /// The attribute names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The values, in the order of [`Record::names`].
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    pub(crate) fn values_mut(&mut self) -> &mut [Value] {
        &mut self.values
    }

    fn position(&self, attribute: &str) -> Option<usize> {
        self.names.iter().position(|n| n == attribute)
    }
}

/// A record serializes as a map of attribute → value as text (`null` for NULL).
impl serde::Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.names.len()))?;
        for (name, value) in self.names.iter().zip(&self.values) {
            if value.is_null() {
                map.serialize_entry(name, &None::<String>)?;
            } else {
                map.serialize_entry(name, &value.to_string())?;
            }
        }
        map.end()
    }
}
