#!/usr/bin/env bash
# The CUDA build's checks, on a machine with an NVIDIA GPU: the runtime's
# tests (its GPU tests included) with the model on the GPU, then prefill and
# decode speed on the GPU and on every CPU core, same model, same run.
#
#   scripts/gpu-check.sh RUNTIME_TESTS BENCH MODEL_CACHE OUT_DIR
#
# RUNTIME_TESTS and BENCH are the `runtime` test binary and the `bench`
# example of `familiar-infer` built with `--features cuda` (see
# scripts/cuda-toolkit.sh); MODEL_CACHE holds SmolLM2-135M-Instruct.Q4_1.gguf.
# GPU_CHECK_BENCH=0 runs the tests alone.
# The CUDA 13 libraries are looked for where PyTorch's wheels put them.
set -uo pipefail
tests=$1 bench=$2 cache=$3 out=$4
mkdir -p "$out"

# Not the driver (libcuda.so.1): the loader finds the installed one, and a
# CUDA forward-compatibility copy elsewhere would not match it.
system_libs=${LD_LIBRARY_PATH:-}
libs=$(find /opt /usr/local /usr/lib -name 'libcublas.so.13' -printf '%h\n' 2>/dev/null | head -1)
for lib in libcurand.so.10 libnvrtc.so.13 libcudart.so.13; do
    libs="$libs:$(find /opt /usr/local /usr/lib -name "$lib" -printf '%h\n' 2>/dev/null | head -1)"
done
export LD_LIBRARY_PATH="$libs${system_libs:+:$system_libs}"
echo "CUDA libraries from: $libs"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"

# Gemma 3's file is not in a trimmed cache; those two tests need it.
FAMILIAR_MODEL_CACHE=$cache "$tests" --test-threads=1 --skip gemma3 --skip token_ids_match 2>&1 | tee "$out/tests.log"
status=${PIPESTATUS[0]}

if [ "${GPU_CHECK_BENCH:-1}" = 0 ]; then
    exit "$status"
fi
model=$cache/SmolLM2-135M-Instruct.Q4_1.gguf
cores=$(nproc)
"$bench" "$model" "$cores" 512 128 5 >"$out/bench-gpu.json" && cat "$out/bench-gpu.json"
"$bench" "$model" "$cores" 512 128 3 cpu >"$out/bench-cpu.json" && cat "$out/bench-cpu.json"
# The peer: Hugging Face transformers on the same GPU and file, where installed.
LD_LIBRARY_PATH=$system_libs python3 "$(dirname "$0")/bench_gpu_peer.py" "$model" 512 128 5 >"$out/bench-peer.json" && cat "$out/bench-peer.json"
exit "$status"
