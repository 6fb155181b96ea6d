//! XML-RPC calls as a caller sends them to `/xmlrpc/2` and `/xmlrpc`: anything that is
//! not a call the door reads must be a `BadRequest`, never a panic, a stack overflow or
//! an entity expanded; and what the door writes back from the values it read must read
//! again as the same call.
#![no_main]

use dte_sidecar::error::AppError;
use dte_sidecar::rpc::xmlrpc::{read_call, write_value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match read_call(data) {
        Ok((method, params)) => {
            let mut again = String::from("<methodCall><methodName>m</methodName><params>");
            for param in &params {
                again.push_str("<param>");
                write_value(param, &mut again);
                again.push_str("</param>");
            }
            again.push_str("</params></methodCall>");
            let (_, read) = read_call(again.as_bytes()).unwrap_or_else(|e| panic!("{method}: wrote what it cannot read: {e}"));
            assert_eq!(read.len(), params.len());
        }
        Err(AppError::BadRequest(_)) => {}
        Err(other) => panic!("a bad call gave {other:?}"),
    }
});
