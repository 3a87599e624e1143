/* maf.h - the whole public API of libmaf (Masked Autoregressive Flows in C). */
#ifndef MAF_MAF_H
#define MAF_MAF_H

#include "maf/version.h"
#include "maf/status.h"
#include "maf/real.h"
#include "maf/rng.h"
#include "maf/flow.h"
#include "maf/adam.h"
#include "maf/bench.h"

#endif
