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
#include "maf/mpiutil.h"
#include "maf/config.h"
#include "maf/data.h"
#include "maf/h5io.h"
#include "maf/evallog.h"
#include "maf/checkpoint.h"
#include "maf/train.h"

#endif
