#!/usr/bin/env bash
# Lays out the part of the CUDA 13 toolkit that `--features cuda` builds need
# (nvcc, headers, cudart, cuBLAS, cuRAND, NVRTC), taken from NVIDIA's wheels on
# PyPI, so a machine without the toolkit installed can build the CUDA backend.
# The driver library is not on PyPI: a link-time stub of libcuda.so.1 is
# generated from cudarc's bindings; at run time the real driver is loaded.
#
#   scripts/cuda-toolkit.sh [DIR]     (default: /var/cache/familiar/cuda)
#   source "$DIR/env.sh"              (then: cargo build --features cuda ...)
#
# At run time the binary needs the driver (libcuda.so.1) and the libraries of
# the same major version: libcudart.so.13, libcublas.so.13, libcublasLt.so.13,
# libcurand.so.10, libnvrtc.so.13 (PyTorch's cu130 wheels ship them).
set -euo pipefail

dir=${1:-/var/cache/familiar/cuda}
compute_cap=${CUDA_COMPUTE_CAP:-90}
wheels=(
    nvidia-cuda-nvcc==13.0.88
    nvidia-cuda-crt==13.0.88
    nvidia-nvvm==13.0.88
    nvidia-cuda-runtime==13.0.96
    nvidia-cuda-cccl==13.0.85
    nvidia-cuda-nvrtc==13.0.88
    nvidia-cublas==13.0.0.19
    nvidia-curand==10.4.0.35
)

root=$dir/root/nvidia/cu13
if [ ! -x "$root/nvvm/bin/cicc" ]; then
    mkdir -p "$dir/wheels" "$dir/root"
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
        --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_27_x86_64 \
        -d "$dir/wheels" "${wheels[@]}"
    for w in "$dir"/wheels/*.whl; do
        python3 -m zipfile -e "$w" "$dir/root"
    done
    chmod +x "$root"/bin/* "$root"/nvvm/bin/* 2>/dev/null || true
fi

# Unversioned names for the linker.
lib=$root/lib
for so in cudart.so.13 cublas.so.13 cublasLt.so.13 curand.so.10 nvrtc.so.13; do
    ln -sf "lib$so" "$lib/lib${so%.so.*}.so"
done

# libcuda.so: every driver entry point cudarc binds, returning an error. Only
# the linker sees it; its soname sends the loader to the real driver.
if [ ! -f "$lib/libcuda.so" ]; then
    sys=$(find "${CARGO_HOME:-$HOME/.cargo}/registry/src" -path '*/cudarc-0.19*/src/driver/sys/mod.rs' | head -1)
    if [ -z "$sys" ]; then
        echo "cudarc's sources are not in the cargo registry yet: run 'cargo fetch --locked' first" >&2
        exit 1
    fi
    sed -n 's/^pub unsafe fn \(cu[A-Za-z0-9_]*\)(.*/int \1(void) { return 999; }/p' "$sys" | sort -u >"$dir/libcuda-stub.c"
    cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$lib/libcuda.so" "$dir/libcuda-stub.c"
fi

cat >"$dir/env.sh" <<EOF
export CUDA_ROOT=$root
export CUDA_PATH=$root
export PATH=$root/bin:\$PATH
export CUDA_COMPUTE_CAP=\${CUDA_COMPUTE_CAP:-$compute_cap}
export LIBRARY_PATH=$lib\${LIBRARY_PATH:+:\$LIBRARY_PATH}
EOF
"$root/bin/nvcc" --version | tail -2
echo "source $dir/env.sh"
