//! The second copy of every sent document, outside the database: a directory by default,
//! S3-compatible object storage by setting (through `object_store`). Each backup is two
//! objects under `<company>/<type>/<folio>`: the signed XML byte for byte, and its row's
//! facts (`.json`) so a lost row can be rebuilt.

use std::sync::Arc;

use anyhow::Context as _;
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::settings::{BackupSettings, BackupStore};

/// What a copy records about its backup row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyMeta {
    pub company_id: i32,
    pub dte_type: String,
    pub folio: String,
    pub rut_emisor: String,
    pub sha256: String,
    pub track_id: Option<String>,
    pub sent_date: Timestamp,
    pub move_id: i32,
    pub display_name: Option<String>,
    pub xml_filename: Option<String>,
}

/// Which document a copy is of.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CopyKey {
    pub company_id: i32,
    pub dte_type: String,
    pub folio: String,
}

impl CopyKey {
    fn base(&self) -> String {
        format!("{}/{}/{}", self.company_id, self.dte_type, self.folio)
    }
}

#[derive(Clone)]
pub struct Archive {
    store: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for Archive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Archive({})", self.store)
    }
}

impl Archive {
    pub fn from_settings(settings: &BackupSettings) -> anyhow::Result<Self> {
        let store: Arc<dyn ObjectStore> = match settings.store {
            BackupStore::Dir => {
                std::fs::create_dir_all(&settings.dir)
                    .with_context(|| format!("backup.dir: cannot create {}", settings.dir.display()))?;
                Arc::new(
                    LocalFileSystem::new_with_prefix(&settings.dir)
                        .with_context(|| format!("backup.dir: {}", settings.dir.display()))?,
                )
            }
            BackupStore::S3 => {
                // From the environment first (AWS_*: pod identities, container credentials),
                // then the settings.
                let mut builder = AmazonS3Builder::from_env()
                    .with_bucket_name(&settings.s3_bucket)
                    .with_region(&settings.s3_region)
                    .with_allow_http(settings.s3_allow_http);
                if !settings.s3_endpoint.is_empty() {
                    builder = builder.with_endpoint(&settings.s3_endpoint);
                }
                if !settings.s3_access_key_id.is_empty() {
                    builder = builder
                        .with_access_key_id(settings.s3_access_key_id.expose())
                        .with_secret_access_key(settings.s3_secret_access_key.expose());
                }
                Arc::new(builder.build().context("backup.s3_*: cannot set up the object store")?)
            }
        };
        Ok(Self { store })
    }

    /// Writes both objects of a copy (the XML first: a copy without its facts is visible to
    /// `verify` but never restored).
    pub async fn put(&self, meta: &CopyMeta, xml: &[u8]) -> anyhow::Result<()> {
        let key = CopyKey { company_id: meta.company_id, dte_type: meta.dte_type.clone(), folio: meta.folio.clone() };
        self.store.put(&Path::from(format!("{}.xml", key.base())), PutPayload::from(xml.to_vec())).await?;
        self.store
            .put(&Path::from(format!("{}.json", key.base())), PutPayload::from(serde_json::to_vec_pretty(meta)?))
            .await?;
        Ok(())
    }

    /// The copy of a document, when both its objects are there.
    pub async fn get(&self, key: &CopyKey) -> anyhow::Result<Option<(CopyMeta, Vec<u8>)>> {
        let read = |suffix: &str| {
            let path = Path::from(format!("{}.{suffix}", key.base()));
            let store = Arc::clone(&self.store);
            async move {
                match store.get(&path).await {
                    Ok(found) => Ok(Some(found.bytes().await?.to_vec())),
                    Err(object_store::Error::NotFound { .. }) => Ok(None),
                    Err(e) => Err(anyhow::Error::from(e)),
                }
            }
        };
        let (Some(meta), Some(xml)) = (read("json").await?, read("xml").await?) else { return Ok(None) };
        Ok(Some((serde_json::from_slice(&meta).context("copy facts are not readable")?, xml)))
    }

    /// Every document that has a copy (its XML object).
    pub async fn list(&self) -> anyhow::Result<Vec<CopyKey>> {
        let objects: Vec<_> = self.store.list(None).try_collect().await?;
        let mut keys: Vec<CopyKey> = objects
            .iter()
            .filter_map(|o| {
                let path = o.location.as_ref();
                let base = path.strip_suffix(".xml")?;
                let mut parts = base.split('/');
                let key = CopyKey {
                    company_id: parts.next()?.parse().ok()?,
                    dte_type: parts.next()?.to_string(),
                    folio: parts.next()?.to_string(),
                };
                parts.next().is_none().then_some(key)
            })
            .collect();
        keys.sort();
        Ok(keys)
    }

    pub async fn delete(&self, key: &CopyKey) -> anyhow::Result<()> {
        for suffix in ["json", "xml"] {
            match self.store.delete(&Path::from(format!("{}.{suffix}", key.base()))).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Overwrites the XML of a copy (tests use it to tamper).
    pub async fn put_raw_xml(&self, key: &CopyKey, xml: Vec<u8>) -> anyhow::Result<()> {
        self.store.put(&Path::from(format!("{}.xml", key.base())), PutPayload::from(xml)).await?;
        Ok(())
    }
}
