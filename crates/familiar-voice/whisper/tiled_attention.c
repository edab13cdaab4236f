// Whisper's encoder attention on the CPU, in tiles.
//
// ggml 0.9 (whisper.cpp 1.8.3) computes flash attention on the CPU one query
// row and one key at a time: an f16 dot product, a scalar expf, and a
// multiply-add into an f16 accumulator, per pair. The encoder attends 1500
// frames to 1500 frames in each of its layers and heads, and on a 60 s clip
// half of speech to text was spent there.
//
// This kernel takes the cases where a block of queries attends without a mask
// (the encoder's self-attention; every Whisper model's heads have 64
// dimensions): it converts a tile of 64 keys and values to f32 once, scores
// 64 queries against them a few rows at a time with the sums in registers,
// exponentiates a row of scores with ggml's vectorised expf, and accumulates
// in f32 (more exact than the f16 accumulator it replaces). Every other case,
// the decoder's included, goes to ggml's own kernel, renamed by inject.cmake.
// tests/attention.rs checks both against attention computed in f64.
//
// Built into ggml-cpu by inject.cmake, which checks the whisper.cpp version it
// was written against.

#include "ggml-cpu-impl.h"
#include "ggml-cpu.h"
#include "ggml-impl.h"
#include "ops.h"
#include "vec.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

// ggml's kernel, under the name inject.cmake gives it.
void ggml_compute_forward_flash_attn_ext_reference(const struct ggml_compute_params * params, struct ggml_tensor * dst);

// Every Whisper model's heads have 64 dimensions; a tile holds 64 queries and 64 keys.
#define HEAD 64
#define TILE 64

// A vector of W floats as wide as the target's registers (GCC's and Clang's
// vector extension): wider ones are split by the compiler and, with AVX2
// only, went through memory (the kernel was then 4x slower than with AVX-512).
// ROWS query rows are computed together, their sums kept in registers: 4 rows
// of 4 registers for a tile of keys with AVX-512's 32, one row of 8 with AVX's 16.
#if defined(__AVX512F__)
#define W 16
#define ROWS 4
#elif defined(__AVX__)
#define W 8
#define ROWS 1
#else
#define W 4
#define ROWS 1
#endif
typedef float vf __attribute__((vector_size(W * sizeof(float))));
#define LANES (HEAD / W) // vectors in a row of HEAD
#define COLS (TILE / W)  // vectors in a row of TILE

// Whether this kernel computes `dst`: f32 queries in blocks, f16 keys and
// values with 64-dimensional heads, no mask, sinks, bias slopes or soft-capping.
static bool tiled(const struct ggml_tensor * dst) {
    const struct ggml_tensor * q = dst->src[0];
    const struct ggml_tensor * k = dst->src[1];
    const struct ggml_tensor * v = dst->src[2];
    float max_bias = 0.0f;
    float softcap = 0.0f;
    memcpy(&max_bias, (const float *) dst->op_params + 1, sizeof(float));
    memcpy(&softcap, (const float *) dst->op_params + 2, sizeof(float));
    return q->type == GGML_TYPE_F32 && k->type == GGML_TYPE_F16 && v->type == GGML_TYPE_F16
        && dst->src[3] == NULL && dst->src[4] == NULL && max_bias == 0.0f && softcap == 0.0f
        && q->ne[0] == HEAD && k->ne[0] == HEAD && v->ne[0] == HEAD && dst->ne[0] == HEAD
        && q->ne[1] >= TILE / 2 && k->ne[1] == v->ne[1]
        && q->nb[0] == sizeof(float) && k->nb[0] == sizeof(ggml_fp16_t) && v->nb[0] == sizeof(ggml_fp16_t)
        && dst->nb[0] == sizeof(float);
}

// One thread's tiles, in f32.
struct scratch {
    vf q[TILE][LANES];   // queries, scaled
    vf kt[HEAD][COLS];   // keys, transposed: kt[d] holds dimension d of the tile's 64 keys
    vf v[TILE][LANES];   // values
    vf o[TILE][LANES];   // the weighted sums of values
    float s[TILE][TILE];  // scores, then their exponentials
    float m[TILE];        // each row's highest score so far
    float l[TILE];        // each row's sum of exponentials so far
};

// Attention of queries [i0, i1) of head `h` (batch `b`) to all keys.
static void attend(const struct ggml_tensor * dst, struct scratch * t, int64_t b, int64_t h, int64_t i0, int64_t i1) {
    const struct ggml_tensor * q = dst->src[0];
    const struct ggml_tensor * k = dst->src[1];
    const struct ggml_tensor * v = dst->src[2];
    const int64_t n_kv = k->ne[1];
    const int64_t rows = i1 - i0;
    float scale = 1.0f;
    memcpy(&scale, (const float *) dst->op_params + 0, sizeof(float));

    // Heads of keys and values this query head reads (ggml broadcasts them).
    const int64_t kh = h / (q->ne[2] / k->ne[2]);
    const int64_t kb = b / (q->ne[3] / k->ne[3]);
    const int64_t vh = h / (q->ne[2] / v->ne[2]);
    const int64_t vb = b / (q->ne[3] / v->ne[3]);

    // Rows past the last query are zeros: computed, never written out.
    for (int64_t i = 0; i < TILE; ++i) {
        float * qi = (float *) t->q[i];
        if (i < rows) {
            const float * src = (const float *) ((const char *) q->data + (i0 + i) * q->nb[1] + h * q->nb[2] + b * q->nb[3]);
            for (int d = 0; d < HEAD; ++d) qi[d] = src[d] * scale;
        } else {
            memset(qi, 0, HEAD * sizeof(float));
        }
        memset(t->o[i], 0, sizeof(t->o[i]));
        t->m[i] = -INFINITY;
        t->l[i] = 0.0f;
    }

    float key[HEAD];
    for (int64_t j0 = 0; j0 < n_kv; j0 += TILE) {
        const int cols = n_kv - j0 < TILE ? (int) (n_kv - j0) : TILE;
        float * kt = (float *) t->kt;
        for (int j = 0; j < TILE; ++j) {
            if (j < cols) {
                const char * kj = (const char *) k->data + (j0 + j) * k->nb[1] + kh * k->nb[2] + kb * k->nb[3];
                const char * vj = (const char *) v->data + (j0 + j) * v->nb[1] + vh * v->nb[2] + vb * v->nb[3];
                ggml_cpu_fp16_to_fp32((const ggml_fp16_t *) kj, key, HEAD);
                ggml_cpu_fp16_to_fp32((const ggml_fp16_t *) vj, (float *) t->v[j], HEAD);
                for (int d = 0; d < HEAD; ++d) kt[d * TILE + j] = key[d];
            } else {
                for (int d = 0; d < HEAD; ++d) kt[d * TILE + j] = 0.0f;
                memset(t->v[j], 0, sizeof(t->v[j]));
            }
        }

        for (int i = 0; i < TILE; i += ROWS) {
            // Scores of ROWS queries against the tile's keys.
            vf acc[ROWS][COLS] = { 0 };
            for (int d = 0; d < HEAD; ++d) {
                for (int r = 0; r < ROWS; ++r) {
                    const float x = ((const float *) t->q[i + r])[d];
                    for (int c = 0; c < COLS; ++c) acc[r][c] += x * t->kt[d][c];
                }
            }
            for (int r = 0; r < ROWS; ++r) memcpy(t->s[i + r], acc[r], sizeof(acc[r]));

            // Online softmax: what was summed under a row's old maximum is rescaled to its new one.
            float rescale[ROWS];
            for (int r = 0; r < ROWS; ++r) {
                float * p = t->s[i + r];
                float best = t->m[i + r];
                for (int j = 0; j < cols; ++j) best = p[j] > best ? p[j] : best;
                const float sum = (float) ggml_vec_soft_max_f32(cols, p, p, best); // in place
                for (int j = cols; j < TILE; ++j) p[j] = 0.0f;
                rescale[r] = t->m[i + r] == -INFINITY ? 0.0f : expf(t->m[i + r] - best);
                t->m[i + r] = best;
                t->l[i + r] = t->l[i + r] * rescale[r] + sum;
            }

            // The values, weighted by the exponentials, added to the rows' sums.
            vf o[ROWS][LANES];
            for (int r = 0; r < ROWS; ++r) {
                for (int c = 0; c < LANES; ++c) o[r][c] = t->o[i + r][c] * rescale[r];
            }
            for (int j = 0; j < cols; ++j) {
                for (int r = 0; r < ROWS; ++r) {
                    const float w = t->s[i + r][j];
                    for (int c = 0; c < LANES; ++c) o[r][c] += w * t->v[j][c];
                }
            }
            for (int r = 0; r < ROWS; ++r) {
                for (int c = 0; c < LANES; ++c) t->o[i + r][c] = o[r][c];
            }
        }
    }

    // dst is [HEAD, heads, queries, batch]: row (i, h) of batch b.
    for (int64_t i = 0; i < rows; ++i) {
        float * out = (float *) ((char *) dst->data + ((b * dst->ne[2] * dst->ne[1]) + h + (i0 + i) * dst->ne[1]) * dst->nb[1]);
        const float inv = t->l[i] == 0.0f ? 0.0f : 1.0f / t->l[i];
        const float * o = (const float *) t->o[i];
        for (int d = 0; d < HEAD; ++d) out[d] = o[d] * inv;
    }
}

void ggml_compute_forward_flash_attn_ext(const struct ggml_compute_params * params, struct ggml_tensor * dst) {
    if (!tiled(dst)) {
        ggml_compute_forward_flash_attn_ext_reference(params, dst);
        return;
    }
    const struct ggml_tensor * q = dst->src[0];
    const int64_t blocks = (q->ne[1] + TILE - 1) / TILE;
    const int64_t tasks = blocks * q->ne[2] * q->ne[3];

    // Tasks are handed out as threads finish them, the first to each thread by its index.
    if (params->ith == 0) {
        ggml_threadpool_chunk_set(params->threadpool, params->nth);
    }
    ggml_barrier(params->threadpool);

    struct scratch * t = aligned_alloc(64, sizeof(struct scratch));
    GGML_ASSERT(t != NULL && "tiled attention: out of memory");
    for (int64_t task = params->ith; task < tasks; task = ggml_threadpool_chunk_add(params->threadpool, 1)) {
        const int64_t block = task % blocks;
        const int64_t h = (task / blocks) % q->ne[2];
        const int64_t b = task / (blocks * q->ne[2]);
        const int64_t i0 = block * TILE;
        const int64_t i1 = i0 + TILE < q->ne[1] ? i0 + TILE : q->ne[1];
        attend(dst, t, b, h, i0, i1);
    }
    free(t);
}
