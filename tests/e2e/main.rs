//! End-to-end tests: the real gateway server on a loopback port, real upstream HTTP servers on
//! loopback ports, real HTTP in between. Each test asserts what the caller got and what the
//! upstream received.

// The harness panics on any setup failure: that is the right outcome for a test.
#![allow(clippy::unwrap_used)]

pub mod harness;

mod admin;
mod answers;
mod anywhere;
mod bigcommerce;
mod breaker;
mod candidate;
mod candidate_report;
mod cli;
mod concurrency;
mod errors;
mod faults;
mod fidelity_gaps;
mod fill;
mod graphql;
mod headers;
mod held_text;
mod integrity;
mod limits;
mod load;
mod memory;
mod migration;
mod ops;
mod overflow;
mod pairs;
mod path_variables;
mod platform_clients;
mod platforms;
mod process;
mod promises;
mod reads;
mod rehearsal;
mod sealed_tokens;
mod secrets;
mod security;
mod shutdown;
mod tls;
mod tokens;
mod transport;
mod vendor_clients;
mod vendor_errors;
mod vendors;
mod versions;
