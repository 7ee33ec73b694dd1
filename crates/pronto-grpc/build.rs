//! Generates the gRPC clients and servers of `proto/pronto/v1/services.proto` with a vendored
//! `protoc`. Every message is pronto-proto's (`extern_path`), so one Rust type stands for each
//! protobuf message whichever crate names it.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let include = protoc_bin_vendored::include_path()?;
    let services = root.join("pronto/v1/services.proto");
    println!("cargo:rerun-if-changed={}", root.display());
    tonic_prost_build::configure()
        .extern_path(".pronto.v1", "::pronto_proto::v1")
        .compile_with_config(config, &[services], &[root, include])?;
    Ok(())
}
