//! The PostgreSQL store. (owner: the postgres helper; a skeleton until then)

use rowport::store::{StoreError, StoreErrorKind};

/// A [`rowport::Store`] on a PostgreSQL server.
#[derive(Debug)]
pub struct PgStore {}

impl PgStore {
    /// Connects to the server a URL names.
    pub fn connect(url: &str) -> Result<PgStore, StoreError> {
        Err(StoreError::new(
            StoreErrorKind::Config,
            format!("TODO(issue 5): PostgreSQL is not supported yet ({url})"),
        ))
    }
}

impl rowport::Store for PgStore {
    fn table_names(&mut self) -> Result<Vec<String>, StoreError> {
        unimplemented!()
    }
    fn describe(&mut self, _table: &str) -> Result<rowport::store::TableSchema, StoreError> {
        unimplemented!()
    }
    fn begin(&mut self) -> Result<(), StoreError> {
        unimplemented!()
    }
    fn commit(&mut self) -> Result<(), StoreError> {
        unimplemented!()
    }
    fn rollback(&mut self) -> Result<(), StoreError> {
        unimplemented!()
    }
    fn fetch(
        &mut self,
        _fetch: &rowport::store::Fetch<'_>,
        _keys: &[Vec<rowport::Value>],
    ) -> Result<Vec<Vec<rowport::Value>>, StoreError> {
        unimplemented!()
    }
    fn insert(
        &mut self,
        _table: &str,
        _columns: &[String],
        _rows: &[Vec<rowport::Value>],
        _returning: Option<&str>,
    ) -> Result<Vec<rowport::store::RowWriteResult<rowport::Value>>, StoreError> {
        unimplemented!()
    }
    fn update(
        &mut self,
        _table: &str,
        _key_column: &str,
        _columns: &[String],
        _rows: &[(rowport::Value, Vec<rowport::Value>)],
    ) -> Result<Vec<rowport::store::RowWriteResult<()>>, StoreError> {
        unimplemented!()
    }
    fn delete(
        &mut self,
        _table: &str,
        _key_columns: &[String],
        _keys: &[Vec<rowport::Value>],
    ) -> Result<Vec<rowport::store::RowWriteResult<()>>, StoreError> {
        unimplemented!()
    }
    fn scan(
        &mut self,
        _scan: &rowport::store::Scan,
        _sink: &mut dyn FnMut(Vec<rowport::Value>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        unimplemented!()
    }
}
