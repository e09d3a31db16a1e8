//! The integration tests: one crate (one link against libtorch), laid out like what they
//! drive: `web/` the routes and pages, `commands/` the `hamlet` subcommands, `ops/` model
//! publishing, remote objects and faults, `extract` the upload reader, `architecture` the
//! import rules of docs/ARCHITECTURE.md. `common` holds the shared fixtures.

#[macro_use]
mod common;

mod architecture;
mod commands;
mod extract;
mod ops;
mod web;
