//! Access keys of the HTTP interface: their own table of the ledger file, apart from the journal,
//! the derived tables and every export.

use super::{Store, StoreError};
use crate::time::Timestamp;
use redb::{Durability, ReadableDatabase, ReadableTable, TableDefinition, TableError};
use serde::{Deserialize, Serialize};

/// access key id → [`AccessKey`] (postcard).
pub const KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("access_keys");

/// An access key / secret key pair and the actor it signs for.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKey {
    /// The access key id (AK), public.
    pub access: String,
    /// The secret key (SK). Never logged, never exported.
    pub secret: String,
    /// The party or operator it acts as (`partner:P1`, `operator:O1`, `customer:C1`).
    pub actor: String,
    /// The domain id a signed request may name in `X-Domain-Id`.
    pub domain: String,
    /// When it was created.
    pub created: Timestamp,
    /// When it was revoked, if it was.
    pub revoked: Option<Timestamp>,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("AccessKey")
            .field("access", &self.access)
            .field("secret", &"<redacted>")
            .field("actor", &self.actor)
            .field("domain", &self.domain)
            .field("created", &self.created)
            .field("revoked", &self.revoked)
            .finish()
    }
}

impl Store {
    /// Every access key, ordered by access key id.
    ///
    /// # Errors
    /// [`StoreError`] when the table cannot be read or a key does not decode.
    pub fn access_keys(&self) -> Result<Vec<AccessKey>, StoreError> {
        let txn = self.database().begin_read()?;
        let table = match txn.open_table(KEYS) {
            Ok(table) => table,
            Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(error) => return Err(error.into()),
        };
        let mut keys = Vec::new();
        for entry in table.iter()? {
            let (_, value) = entry?;
            keys.push(
                postcard::from_bytes(value.value())
                    .map_err(|error| super::records::DecodeError { what: "access key", reason: error.to_string() })?,
            );
        }
        Ok(keys)
    }

    /// Writes an access key (new, or revoked), durably.
    ///
    /// # Errors
    /// [`StoreError`] when the write fails.
    pub fn put_access_key(&self, key: &AccessKey) -> Result<(), StoreError> {
        let mut txn = self.database().begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let mut table = txn.open_table(KEYS)?;
            let bytes =
                postcard::to_stdvec(key).map_err(|error| super::records::DecodeError { what: "access key", reason: error.to_string() })?;
            table.insert(key.access.as_str(), bytes.as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }
}
