//! The `hamlet` subcommands: import, harvest, train and evaluate, gensim interop, the binary itself.

mod cli;
mod gensim;
mod harvest;
mod import;
mod train;
