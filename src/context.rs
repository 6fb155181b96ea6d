//! The one context every handler, flow and job receives.

use std::sync::Arc;

use crate::clock::SharedClock;
use crate::settings::Settings;
use crate::store::Db;

#[derive(Clone)]
pub struct AppContext {
    pub settings: Arc<Settings>,
    pub db: Db,
    pub clock: SharedClock,
}

impl AppContext {
    pub fn new(settings: Settings, db: Db, clock: SharedClock) -> Self {
        Self { settings: Arc::new(settings), db, clock }
    }
}
