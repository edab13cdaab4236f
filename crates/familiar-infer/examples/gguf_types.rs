//! Lists a GGUF file's tensors with their types: `cargo run -p familiar-infer --example gguf_types -- MODEL.gguf`
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: gguf_types MODEL.gguf")?;
    let mut file = std::fs::File::open(path)?;
    let content = candle_core::quantized::gguf_file::Content::read(&mut file)?;
    let mut counts = std::collections::BTreeMap::new();
    for (name, info) in &content.tensor_infos {
        *counts.entry(format!("{:?}", info.ggml_dtype)).or_insert(0) += 1;
        if name.starts_with("blk.0.") || !name.starts_with("blk.") {
            println!("{name}: {:?} {:?}", info.ggml_dtype, info.shape);
        }
    }
    println!("{counts:?}");
    Ok(())
}
