//! Validation against the SII schemas (`DTE_v10.xsd`, `EnvioDTE_v10.xsd`).
//!
//! The schemas are read at run time from a directory the caller names (the project vendors them
//! under `schemas/sii/`). A compiled libxml schema cannot cross threads, so each thread compiles
//! its own validator the first time it needs one (≈ 6 ms) and keeps it.

use std::cell::RefCell;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use libxml::bindings as lx;
use libxml::schemas::{SchemaParserContext, SchemaValidationContext};

use super::error::{DteError, DteResult};
use super::xml::{ensure_initialised, XmlDoc};

/// Which SII schema a document is checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SchemaKind {
    /// `DTE_v10.xsd`: one signed DTE.
    Dte,
    /// `EnvioDTE_v10.xsd`: a signed envelope of DTEs.
    EnvioDte,
}

impl SchemaKind {
    pub fn file_name(self) -> &'static str {
        match self {
            SchemaKind::Dte => "DTE_v10.xsd",
            SchemaKind::EnvioDte => "EnvioDTE_v10.xsd",
        }
    }
}

/// The files the validators need; the first two include the others.
const REQUIRED_FILES: &[&str] = &["DTE_v10.xsd", "EnvioDTE_v10.xsd", "SiiTypes_v10.xsd", "xmldsignature_v10.xsd"];

/// Where the SII schemas are. Cheap to clone the path out of; `Send + Sync`.
#[derive(Debug)]
pub struct Schemas {
    id: u64,
    directory: PathBuf,
}

static NEXT_SCHEMAS_ID: AtomicU64 = AtomicU64::new(1);

/// Validators compiled on this thread, per `Schemas` and kind.
type ThreadValidators = HashMap<(u64, SchemaKind), SchemaValidationContext>;

thread_local! {
    static VALIDATORS: RefCell<ThreadValidators> = RefCell::new(HashMap::new());
}

impl Schemas {
    /// Uses the schemas in `directory` (e.g. `schemas/sii`). Checks that the files are there and
    /// compile, on the calling thread, so a bad setting fails at start-up and not on the first
    /// document.
    pub fn from_dir(directory: impl AsRef<Path>) -> DteResult<Schemas> {
        // Absolute, so a later change of working directory does not lose the schemas.
        let directory = std::fs::canonicalize(directory.as_ref()).map_err(|error| {
            DteError::Config(format!("SII schema directory {}: {error}", directory.as_ref().display()))
        })?;
        for file in REQUIRED_FILES {
            if !directory.join(file).is_file() {
                return Err(DteError::Config(format!("SII schema {} not found in {}", file, directory.display())));
            }
        }
        let schemas = Schemas { id: NEXT_SCHEMAS_ID.fetch_add(1, Ordering::Relaxed), directory };
        for kind in [SchemaKind::Dte, SchemaKind::EnvioDte] {
            schemas.with_validator(kind, |_| Ok(()))?;
        }
        Ok(schemas)
    }

    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// Validates serialised XML against one of the schemas.
    pub fn validate_bytes(&self, kind: SchemaKind, xml: &[u8]) -> DteResult<()> {
        let doc = XmlDoc::parse(xml)?;
        self.validate(kind, &doc)
    }

    pub(crate) fn validate(&self, kind: SchemaKind, doc: &XmlDoc) -> DteResult<()> {
        self.with_validator(kind, |validator| {
            // SAFETY: validator and document both belong to this thread.
            let rc = unsafe { lx::xmlSchemaValidateDoc(validator.as_ptr(), doc.as_ptr()) };
            let errors = validator.drain_errors();
            if rc == 0 {
                return Ok(());
            }
            let first = errors
                .iter()
                .find_map(|error| error.message.clone())
                .unwrap_or_else(|| format!("validation failed with status {rc}"));
            let message = first.trim().to_string();
            Err(DteError::SchemaInvalid {
                schema: kind.file_name(),
                field: element_named_in(&message),
                message: if errors.len() > 1 { format!("{message} (and {} more)", errors.len() - 1) } else { message },
            })
        })
    }

    fn with_validator<R>(
        &self,
        kind: SchemaKind,
        work: impl FnOnce(&mut SchemaValidationContext) -> DteResult<R>,
    ) -> DteResult<R> {
        ensure_initialised();
        VALIDATORS.with(|cell| {
            let mut validators = cell.borrow_mut();
            let validator = match validators.entry((self.id, kind)) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => entry.insert(self.compile(kind)?),
            };
            work(validator)
        })
    }

    fn compile(&self, kind: SchemaKind) -> DteResult<SchemaValidationContext> {
        let path = self.directory.join(kind.file_name());
        let path_text =
            path.to_str().ok_or_else(|| DteError::Config(format!("schema path {} is not UTF-8", path.display())))?;
        let mut parser = SchemaParserContext::from_file(path_text);
        SchemaValidationContext::from_parser(&mut parser).map_err(|errors| {
            let detail = errors.iter().find_map(|error| error.message.clone()).unwrap_or_default();
            DteError::Config(format!("SII schema {} does not compile: {}", path.display(), detail.trim()))
        })
    }
}

/// The element a libxml schema message names: `Element '{ns}RznSocRecep': …` → `RznSocRecep`.
fn element_named_in(message: &str) -> Option<String> {
    let after = message.split_once("Element '")?.1;
    let name = after.split('\'').next()?;
    let local = name.rsplit('}').next().unwrap_or(name);
    Some(local.to_string())
}
