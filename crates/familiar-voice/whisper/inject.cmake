# Builds tiled_attention.c into whisper.cpp's ggml-cpu library, in place of
# ggml's CPU flash attention for the encoder (see that file).
#
# whisper-rs-sys passes CMAKE_* variables from the environment to whisper.cpp's
# CMake; .cargo/config.toml sets CMAKE_PROJECT_INCLUDE to this file, which CMake
# includes after each project() call. At the end of the top directory, when the
# targets exist, ggml's kernel is renamed (in ops.cpp only) and ours added.
include_guard(GLOBAL)

# Release builds are what we ship (the .deb): ggml's CPU code for x86-64-v3 (AVX2, FMA, F16C; every x86 CPU
# since 2015, and what LM Studio and Jan require) instead of `-march=native`, which would make the package
# crash (SIGILL) on any CPU without this build machine's instructions (AVX-512 here). Dev builds, the tests
# and `make bench` stay native. Cargo runs build scripts, so CMake, with PROFILE set; GGML_NATIVE given in
# the environment still wins (whisper-rs-sys passes it to CMake before this runs).
if(NOT DEFINED GGML_NATIVE AND "$ENV{PROFILE}" STREQUAL "release")
    set(GGML_NATIVE OFF CACHE BOOL "familiar: a release build runs on other machines")
    message(STATUS "familiar: release build: ggml's CPU code for any CPU of the architecture (x86-64: AVX2), not this one")
endif()

set(FAMILIAR_WHISPER_CPP_VERSION "1.8.3")

function(familiar_tiled_attention)
    if(NOT PROJECT_VERSION VERSION_EQUAL FAMILIAR_WHISPER_CPP_VERSION OR NOT TARGET ggml-cpu)
        message(WARNING "familiar: tiled_attention.c was written for whisper.cpp ${FAMILIAR_WHISPER_CPP_VERSION}, "
            "this is ${PROJECT_VERSION}: it is left out, and ggml's own CPU attention is used.")
        return()
    endif()
    if(NOT CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
        message(WARNING "familiar: tiled_attention.c needs GCC's or Clang's vector extensions, "
            "not ${CMAKE_C_COMPILER_ID}: it is left out, and ggml's own CPU attention is used.")
        return()
    endif()
    set(ops "${CMAKE_SOURCE_DIR}/ggml/src/ggml-cpu/ops.cpp")
    if(NOT EXISTS "${ops}")
        message(FATAL_ERROR "familiar: ${ops} is not where whisper.cpp ${PROJECT_VERSION} keeps it")
    endif()
    set_source_files_properties("${ops}" TARGET_DIRECTORY ggml-cpu PROPERTIES
        COMPILE_DEFINITIONS "ggml_compute_forward_flash_attn_ext=ggml_compute_forward_flash_attn_ext_reference")
    target_sources(ggml-cpu PRIVATE "${FAMILIAR_WHISPER_DIR}/tiled_attention.c")
    message(STATUS "familiar: whisper.cpp's encoder attention runs tiled (${FAMILIAR_WHISPER_DIR}/tiled_attention.c)")
endfunction()

set(FAMILIAR_WHISPER_DIR "${CMAKE_CURRENT_LIST_DIR}")
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL familiar_tiled_attention)
