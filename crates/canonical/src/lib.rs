//! The canonical model every dialect translates to and from.
//!
//! A request in any vendor dialect is decoded into a [`CustomerPatch`] (an RFC 7396 JSON Merge
//! Patch of the canonical [`Customer`] document), forwarded, and the upstream's answer comes back
//! as a [`Customer`] or a [`Problem`] (RFC 9457 problem details). This crate holds only the model:
//! no I/O, no dialect knowledge.

mod customer;
mod patch;
mod problem;

pub use self::{
    customer::{Address, Addresses, Company, Customer, Group, Name, Tax},
    patch::{
        AddressPatch, AddressesPatch, CompanyPatch, CustomerPatch, NamePatch, Patch, TaxPatch, merge_patch,
    },
    problem::{ErrorKind, Problem, Violation},
};
