//! The jobs behind the subcommands: import and harvest a collection, train and evaluate a
//! model, publish it. Plain option structs and a `progress::Progress` callback: the CLI draws
//! bars, the tests and benchmarks call the same functions quietly. Nothing here parses flags
//! or prints.

pub mod evaluate;
pub mod harvest;
pub mod import;
pub mod model_source;
pub mod progress;
pub mod publish;
pub mod train;
