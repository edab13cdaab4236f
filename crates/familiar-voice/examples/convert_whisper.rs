//! Converts a CTranslate2 Whisper folder into a ggml file (for benchmarks and
//! by hand): `convert_whisper <ct2 folder> <out.bin> [f16|q8_0]`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        return Err("usage: convert_whisper <ct2 folder> <out.bin> [f16|q8_0]".into());
    }
    let folder = std::path::Path::new(&args[1]);
    let model = std::fs::read(folder.join("model.bin"))?;
    let vocabulary = std::fs::read_to_string(folder.join("vocabulary.txt"))?;
    let weights = match args.get(3).map(String::as_str) {
        Some("q8_0") => familiar_voice::convert::Weights::Q8_0,
        _ => familiar_voice::convert::Weights::F16,
    };
    let out = std::fs::File::create(&args[2])?;
    let hp = familiar_voice::convert::convert_with(&model, &vocabulary, out, weights)?;
    println!("{hp:?}");
    Ok(())
}
