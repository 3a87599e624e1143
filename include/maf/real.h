/* real.h - the floating-point type of libmaf's tensors.
 *
 * float (the default and the installed library). The test suite also builds the library with
 * MAF_REAL_DOUBLE defined, to check gradients against finite differences in double precision;
 * a program must be compiled with the same setting as the library it links. */
#ifndef MAF_REAL_H
#define MAF_REAL_H

#ifdef MAF_REAL_DOUBLE
typedef double maf_real;
#else
typedef float maf_real;
#endif

#endif
