//! The JSON-RPC face: two doors (`/jsonrpc`, `/json/2`) in front of one dispatcher.

pub mod auth;
pub mod body;
pub mod dispatch;
pub mod json2;
pub mod jsonrpc;
pub mod orm;
pub mod params;
pub mod respond;

use actix_web::web;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/jsonrpc", web::post().to(jsonrpc::handle))
        .route("/json/2/{model}/{method}", web::post().to(json2::handle))
        .route("/json/2/{tail:.*}", web::route().to(json2::not_found));
}
