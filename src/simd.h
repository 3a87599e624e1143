/* simd.h - one marker for the elementwise kernels that run every training step.
 *
 * A default build targets baseline x86-64 (SSE2), so that one binary runs on every node of a
 * cluster. The hot elementwise loops are compiled several times (AVX-512F, AVX2, baseline)
 * and the loader picks the best the CPU supports (GCC function multiversioning; a clone is
 * chosen by ISA feature, not CPU model, so newer CPUs get it too). A build
 * with -DMAF_NATIVE=ON, a sanitizer build, or another compiler uses plain functions. */
#ifndef MAF_SIMD_H
#define MAF_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(MAF_NATIVE) &&     \
    !defined(__SANITIZE_ADDRESS__) && !defined(MAF_REAL_DOUBLE)
#define MAF_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MAF_SIMD_CLONES
#endif

#endif
