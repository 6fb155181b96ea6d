//! Business flows of the specification: backups, the retry queue, contingency. Each
//! flow checks its input, then does its store work in one blocking task.

pub mod args;
pub mod audit;
pub mod backup;
pub mod company;
pub mod contingency;
pub mod failed_queue;
pub mod xml_content;
