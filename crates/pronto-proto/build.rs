//! Generates the protobuf and gRPC code from `proto/` with a vendored `protoc`, so a fresh
//! machine needs no manual step, and writes a descriptor set for gRPC reflection.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let include = protoc_bin_vendored::include_path()?;
    let files =
        ["events.proto", "facts.proto", "services.proto"].map(|f| root.join("pronto/v1").join(f));
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("pronto_descriptor.bin"))
        .compile_with_config(config, &files, &[root, include])?;
    Ok(())
}
