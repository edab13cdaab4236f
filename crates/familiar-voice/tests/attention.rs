//! whisper.cpp's CPU attention as built here: the encoder's case runs in
//! whisper/tiled_attention.c, checked against attention computed directly in
//! f64 on the same inputs, through ggml's own graph API.
#![allow(unsafe_code)] // ggml's C API, as whisper.cpp calls it.

use half::f16;
use whisper_rs_sys as ggml;

/// A deterministic pseudo-random value in [-1, 1).
fn noise(state: &mut u64) -> f32 {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    ((*state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
}

/// Softmax(scale · Q Kᵀ) V for each head, in f64: `q` is [queries][heads][64],
/// `k` and `v` [keys][heads][64]; the answer is [queries][heads][64].
fn attention(q: &[f32], k: &[f32], v: &[f32], heads: usize, scale: f64) -> Vec<f64> {
    let (queries, keys) = (q.len() / heads / 64, k.len() / heads / 64);
    let mut out = vec![0.0; q.len()];
    for i in 0..queries {
        for h in 0..heads {
            let row = |n: usize| (n * heads + h) * 64..(n * heads + h + 1) * 64;
            let scores: Vec<f64> = (0..keys)
                .map(|j| scale * q[row(i)].iter().zip(&k[row(j)]).map(|(a, b)| f64::from(a * b)).sum::<f64>())
                .collect();
            let max = scores.iter().cloned().fold(f64::MIN, f64::max);
            let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
            let sum: f64 = weights.iter().sum();
            for (j, w) in weights.iter().enumerate() {
                for (o, x) in out[row(i)].iter_mut().zip(&v[row(j)]) {
                    *o += w / sum * f64::from(*x);
                }
            }
        }
    }
    out
}

/// ggml's flash attention on the CPU, laid out as whisper.cpp's encoder lays
/// it out (Q a permuted f32 view, K and V permuted f16 views), with 2 threads.
fn ggml_attention(q: &[f32], k: &[f16], v: &[f16], heads: usize, scale: f32) -> Vec<f32> {
    let (queries, keys) = (q.len() / heads / 64, k.len() / heads / 64);
    unsafe {
        let ctx = ggml::ggml_init(ggml::ggml_init_params {
            mem_size: 64 << 20,
            mem_buffer: std::ptr::null_mut(),
            no_alloc: false,
        });
        assert!(!ctx.is_null());
        let tensor = |kind, n: usize| ggml::ggml_new_tensor_3d(ctx, kind, 64, heads as i64, n as i64);
        let (tq, tk, tv) = (
            tensor(ggml::ggml_type_GGML_TYPE_F32, queries),
            tensor(ggml::ggml_type_GGML_TYPE_F16, keys),
            tensor(ggml::ggml_type_GGML_TYPE_F16, keys),
        );
        std::ptr::copy_nonoverlapping(q.as_ptr(), (*tq).data.cast::<f32>(), q.len());
        std::ptr::copy_nonoverlapping(k.as_ptr(), (*tk).data.cast::<f16>(), k.len());
        std::ptr::copy_nonoverlapping(v.as_ptr(), (*tv).data.cast::<f16>(), v.len());
        let by_head = |t| ggml::ggml_permute(ctx, t, 0, 2, 1, 3);
        let out = ggml::ggml_flash_attn_ext(
            ctx,
            by_head(tq),
            by_head(tk),
            by_head(tv),
            std::ptr::null_mut(),
            scale,
            0.0,
            0.0,
        );
        let graph = ggml::ggml_new_graph(ctx);
        ggml::ggml_build_forward_expand(graph, out);
        assert_eq!(ggml::ggml_graph_compute_with_ctx(ctx, graph, 2), ggml::ggml_status_GGML_STATUS_SUCCESS);
        // The answer is [64, heads, queries]: the layout of `q`.
        let answer = std::slice::from_raw_parts((*out).data.cast::<f32>(), q.len()).to_vec();
        ggml::ggml_free(ctx);
        answer
    }
}

/// The largest difference between ggml's attention and the f64 one, for
/// `queries` queries attending to `keys` keys in 3 heads.
fn largest_error(queries: usize, keys: usize) -> f64 {
    let heads = 3;
    let mut state = (queries * 1000 + keys) as u64;
    let q: Vec<f32> = (0..queries * heads * 64).map(|_| 2.0 * noise(&mut state)).collect();
    let k: Vec<f16> = (0..keys * heads * 64).map(|_| f16::from_f32(2.0 * noise(&mut state))).collect();
    let v: Vec<f16> = (0..keys * heads * 64).map(|_| f16::from_f32(noise(&mut state))).collect();
    let scale = 1.0 / 8.0;
    let exact = attention(
        &q,
        &k.iter().map(|x| x.to_f32()).collect::<Vec<_>>(),
        &v.iter().map(|x| x.to_f32()).collect::<Vec<_>>(),
        heads,
        scale,
    );
    let got = ggml_attention(&q, &k, &v, heads, scale as f32);
    got.iter().zip(&exact).map(|(g, e)| (f64::from(*g) - e).abs()).fold(0.0, f64::max)
}

#[test]
fn the_encoders_attention_is_tiled_and_sums_in_f32() {
    // Blocks of queries (the encoder's case), whole tiles and ragged ones.
    for (queries, keys) in [(64, 64), (100, 150), (200, 1500)] {
        let error = largest_error(queries, keys);
        // ggml's own kernel sums values in f16 and is off by ≈ 1e-3 here.
        assert!(error < 2e-5, "{queries} queries, {keys} keys: off by {error}");
    }
}

#[test]
fn single_queries_the_decoders_case_are_answered_by_ggmls_kernel() {
    // One token at a time, summed in f16.
    let error = largest_error(1, 1500);
    assert!(error < 1e-2, "off by {error}");
}
