//! With feature "train", embeds libtorch's folder as the binaries' run path, so `adain-train`
//! starts without LD_LIBRARY_PATH (which still overrides it, e.g. on a GPU machine), and keeps
//! libtorch_cuda linked so CUDA works.

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if std::env::var_os("CARGO_FEATURE_TRAIN").is_none() {
        return;
    }
    if let Some(dir) = std::env::var_os("LIBTORCH") {
        let lib = std::path::Path::new(&dir).join("lib");
        let lib = lib.canonicalize().unwrap_or(lib);
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
        // Nothing references libtorch_cuda's symbols directly, so `--as-needed` would drop it and
        // libtorch would never register its CUDA backend: keep it linked explicitly.
        if lib.join("libtorch_cuda.so").exists() {
            println!(
                "cargo:rustc-link-arg=-Wl,-L{},--no-as-needed,-ltorch_cuda,--as-needed",
                lib.display()
            );
        }
    }
}
