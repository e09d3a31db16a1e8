//! Operations: publishing and serving models, remote objects, a database that goes away.

mod faults;
mod publish;
mod remote;
