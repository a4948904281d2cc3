//! Generates the Rust for `carbon.proto` (and the members' `cluster.proto`) with the protoc binary vendored by
//! `protoc-bin-vendored`, so a fresh machine needs no protoc installed.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: build scripts are single-threaded at this point.
    unsafe { env::set_var("PROTOC", protoc) };
    let grpc = env::var_os("CARGO_FEATURE_GRPC").is_some();
    let out = PathBuf::from(env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .build_server(grpc)
        .build_client(grpc)
        .file_descriptor_set_path(out.join("carbon_descriptor.bin"))
        .compile_protos(&["proto/carbon/v1/carbon.proto"], &["proto"])?;
    // Apart, so that the public server's reflection does not list it.
    tonic_prost_build::configure()
        .build_server(grpc)
        .build_client(grpc)
        .compile_protos(&["proto/carbon/cluster/v1/cluster.proto"], &["proto"])?;
    println!("cargo:rerun-if-changed=proto/carbon/v1/carbon.proto");
    println!("cargo:rerun-if-changed=proto/carbon/cluster/v1/cluster.proto");
    Ok(())
}
