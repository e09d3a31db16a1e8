//! Adds an rpath to the libtorch that torch-sys linked against, so `hamlet`, its tests and its
//! benches run without LD_LIBRARY_PATH. torch-sys itself emits no rpath.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=HAMLET_RPATH");
    if let Ok(libtorch) = std::env::var("LIBTORCH") {
        let lib = PathBuf::from(libtorch).join("lib");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    }
    // Installed layouts (the Docker image) put the libraries beside the binary's lib dir.
    let extra = std::env::var("HAMLET_RPATH").unwrap_or_else(|_| "$ORIGIN/../lib/hamlet".into());
    println!("cargo:rustc-link-arg=-Wl,-rpath,{extra}");
}
