//! The CUDA build on a real GPU (`--features cuda`; `scripts/gpu-check.sh`
//! runs them on a machine with one): the GPU and its memory are found, models
//! run on it by default and answer as they do on the CPU and in llama.cpp, and
//! the VRAM estimate of the fit check covers what a loaded model takes.
//!
//! Run them one at a time (`--test-threads=1`): one measures the GPU's free memory.

use candle_core::Device;
use familiar_infer::{gpu_info, gpu_memory_needed};

use super::*;

fn cuda() -> Device {
    Device::new_cuda(0).expect("a CUDA device")
}

#[test]
fn the_gpu_and_its_memory_are_found() {
    let info = gpu_info().expect("the CUDA build finds the GPU");
    assert_eq!(info.backend, "cuda");
    assert!(!info.name.is_empty());
    assert!(info.total_bytes >= 1 << 30 && info.free_bytes <= info.total_bytes, "{info:?}");
}

#[test]
fn models_run_on_the_gpu_by_default_and_answer_as_on_the_cpu() {
    let on_gpu = Engine::load(&model_path(), EngineOptions::default()).unwrap();
    let on_cpu = Engine::load(&model_path(), EngineOptions { threads: Some(4), cpu_only: true }).unwrap();
    assert_eq!(on_gpu.info.device, "cuda:0");
    assert_eq!(on_cpu.info.device, "cpu");
    let prompt = ask(&on_gpu, "What is the capital of France?");
    let gpu = on_gpu.generate_with(request(prompt.clone(), greedy(24)), |_| {}).unwrap();
    let cpu = on_cpu.generate_with(request(prompt, greedy(24)), |_| {}).unwrap();
    assert!(gpu.text.contains("Paris"), "{}", gpu.text);
    // The GPU's quantized kernels and the CPU's 8-bit decode step round
    // differently; a late near-tie may flip, the start of the reply may not.
    let n = gpu.tokens.len().min(cpu.tokens.len()).min(8);
    assert!(n >= 5, "GPU {:?} / CPU {:?}", gpu.text, cpu.text);
    assert_eq!(gpu.tokens[..n], cpu.tokens[..n], "GPU {:?} / CPU {:?}", gpu.text, cpu.text);
}

/// The device-resident KV cache, checked at the logits: a prompt computed in
/// pieces, each after the cache of the ones before, ends where the whole
/// prompt computed at once ends; cutting the cache back and computing the last
/// piece again gives the same logits once more.
#[test]
fn the_device_cache_gives_the_logits_of_a_whole_prefill() {
    use familiar_infer::model::Model;
    let (mut model, tokenizer, _) = Model::load(&model_path(), &cuda()).unwrap();
    let text = "The lighthouse keeper wrote in his log every evening: the wind, the ships that passed, \
                the colour of the sea, and whether the lamp had burned all night without a flicker.";
    let prompt = tokenizer.encode(text, true, false);
    assert!(prompt.len() >= 30, "{}", prompt.len());
    let whole = model.forward(&prompt, 0).unwrap();
    let (a, b) = (prompt.len() / 3, 2 * prompt.len() / 3);
    model.forward(&prompt[..a], 0).unwrap();
    model.forward(&prompt[a..b], a).unwrap();
    let pieces = model.forward(&prompt[b..], b).unwrap();
    let scale = whole.iter().fold(0f32, |m, v| m.max(v.abs()));
    let diff = |x: &[f32], y: &[f32]| x.iter().zip(y).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(diff(&whole, &pieces) <= 1e-3 * scale, "logits differ by {} (largest {scale})", diff(&whole, &pieces));
    let argmax = |l: &[f32]| l.iter().enumerate().max_by(|x, y| x.1.total_cmp(y.1)).map(|(i, _)| i);
    assert_eq!(argmax(&whole), argmax(&pieces));
    // Back to `b` positions (the longer cache is cut), and the last piece again.
    let again = model.forward(&prompt[b..], b).unwrap();
    assert!(diff(&again, &pieces) <= 1e-5 * scale, "logits differ by {}", diff(&again, &pieces));
}

#[test]
fn tiny_models_on_the_gpu_generate_what_llama_cpp_generates() {
    assert_agrees(&tiny_greedy_on("qwen3", &cuda()), &LLAMA_CPP_TINY_QWEN3);
    assert_agrees(&tiny_greedy_on("qwen2", &cuda()), &LLAMA_CPP_TINY_QWEN2);
    assert_agrees(&tiny_greedy_on("phi3", &cuda()), &LLAMA_CPP_TINY_PHI3);
}

#[test]
fn a_follow_up_on_the_gpu_reuses_the_device_cache() {
    let engine = Engine::load(&model_path(), EngineOptions::default()).unwrap();
    let prompt = ask(&engine, "Name a fruit.");
    let first = engine.generate_with(request(prompt.clone(), greedy(12)), |_| {}).unwrap();
    // The same prompt again: everything but its last token comes from the cache.
    let again = engine.generate_with(request(prompt.clone(), greedy(12)), |_| {}).unwrap();
    assert_eq!(again.reused_tokens, prompt.len() - 1);
    assert_eq!(again.tokens, first.tokens, "a reused cache gives the same reply");
    // A shorter prompt cuts the device cache back.
    let shorter = &prompt[..prompt.len() - 3];
    let cut = engine.generate_with(request(shorter.to_vec(), greedy(4)), |_| {}).unwrap();
    assert_eq!(cut.reused_tokens, shorter.len() - 1);
}

#[test]
fn the_vram_estimate_covers_what_a_loaded_model_takes() {
    let needed = gpu_memory_needed(&model_path()).unwrap();
    let before = gpu_info().unwrap().free_bytes;
    let engine = Engine::load(&model_path(), EngineOptions::default()).unwrap();
    let prompt = ask(&engine, "Write a long story about a lighthouse keeper.");
    engine.generate_with(request(prompt, greedy(256)), |_| {}).unwrap();
    let during = gpu_info().unwrap().free_bytes;
    let used = before.saturating_sub(during);
    eprintln!("VRAM: estimate {} MB, used {} MB", needed >> 20, used >> 20);
    assert!(used >= 100 << 20, "loading the model took only {} MB of the GPU", used >> 20);
    assert!(used <= needed, "the estimate of {} MB is below the {} MB used", needed >> 20, used >> 20);
    drop(engine);
}
