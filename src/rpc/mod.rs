//! The RPC face: three doors (`/jsonrpc`, `/json/2`, `/xmlrpc/2`) in front of one dispatcher.

pub mod auth;
pub mod body;
pub mod dispatch;
pub mod json2;
pub mod jsonrpc;
pub mod meta;
pub mod orm;
pub mod params;
pub mod respond;
pub mod xmlrpc;

use actix_web::web;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/jsonrpc", web::post().to(jsonrpc::handle))
        .route("/web/webclient/version_info", web::post().to(jsonrpc::version_info))
        .route("/json/2/{model}/{method}", web::post().to(json2::handle))
        .route("/json/2/{tail:.*}", web::route().to(json2::not_found))
        .route("/xmlrpc/2/{service}", web::post().to(xmlrpc::handle))
        .route("/xmlrpc/{service}", web::post().to(xmlrpc::handle_legacy))
        // Odoo's API documentation (api_doc) is not served: clients that probe it get
        // Odoo's NotFound, in Odoo's shape.
        .route("/doc-bearer/{tail:.*}", web::route().to(json2::no_api_doc));
}
