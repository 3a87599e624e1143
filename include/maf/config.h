/* config.h - the run configuration of a training run: defaults, INI files, --set overrides.
 *
 * A configuration is read in layers: maf_config_default(), then an INI file with
 * maf_config_load(), then command-line overrides with maf_config_set(). Every error is
 * MAF_ERR_CONFIG (MAF_ERR_IO if the file cannot be read) with a message that names where the
 * problem is (file and line, or the --set argument), the section and key, what was wrong and
 * the valid choices or range. configs/reference.ini documents every key with its default.
 *
 * INI syntax (inih): "[section]" headers and "key = value" (or "key: value") lines; section
 * and key names are lowercase and case-sensitive; whole-line comments start with ';' or '#';
 * after a value only ';' preceded by a space or tab starts a comment ('#' there is an error);
 * a line holds at most 198 characters; a value cannot continue on an indented next line;
 * a key given twice takes its last value. */
#ifndef MAF_CONFIG_H
#define MAF_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "maf/flow.h"
#include "maf/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    /* [data] */
    char path[4096];   /* HDF5 file, or "builtin:NAME" with NAME of [a-z0-9_]+ (the trainer
                          checks that NAME exists); default "builtin:gauss8" */
    char train[256];   /* data set names inside the HDF5 file; default "train", */
    char val[256];     /* "val", */
    char test[256];    /* "test" */
    long builtin_rows; /* rows of the built-in training split (val and test get 10% each);
                          default 100000; 1..1e9 */
    bool standardize;  /* z-score with the training set's mean/std; default true */
    /* [model] */
    int blocks;                /* MADE blocks; default 5; 1..1000 */
    int hidden;                /* units per hidden layer; default 100; 1..100000 */
    int layers;                /* hidden layers per MADE; default 2; 1..100 */
    maf_activation activation; /* relu | tanh; default relu */
    bool batch_norm;           /* default true */
    maf_order order;           /* reverse | random; default reverse */
    maf_degrees degrees;       /* sequential | random; default sequential */
    double log_scale_bound;    /* default 6; [0, 50]; 0 = unbounded */
    /* [train] */
    int batch_size;      /* global minibatch; default 100; 1..10000000 */
    double lr;           /* Adam learning rate; default 1e-4; (0, 1] */
    double weight_decay; /* L2 lambda; default 1e-6; >= 0 */
    double clip_norm;    /* gradient clipping norm; default 0 (off); >= 0 */
    int patience;        /* epochs without improvement; default 30; 1..1000000 */
    long max_epochs;     /* default 0 = no limit; >= 0 */
    long max_steps;      /* default 0 = no limit; >= 0 */
    long eval_every;     /* steps between evaluations; default 0 = once per epoch; >= 0 */
    uint64_t seed;       /* default 1 */
    /* [output] */
    char dir[4096];        /* output directory; default "out" */
    double tail_threshold; /* report how many test rows have log-likelihood below this;
                              default -100 */
} maf_config;

/* Fill c with the defaults (string fields are zero-padded). */
void maf_config_default(maf_config *c);

/* Parse an INI file over the current values of c (call maf_config_default first). Errors
 * (MAF_ERR_CONFIG, or MAF_ERR_IO if the file cannot be opened or read) name the file and line,
 * the section and key, what was wrong and the valid choices or range, e.g.
 *   "configs/x.ini:7: [model] activation = sigmoid: expected one of relu, tanh"
 *   "configs/x.ini:3: [model] hiden: unknown key; keys of [model]: blocks, hidden, ..."
 *   "configs/x.ini:2: [dta]: unknown section; sections: data, model, train, output"
 * A syntax error, a too long line or an indented continuation line also names the line.
 * The first error wins; c may be partly updated on failure. */
maf_status maf_config_load(maf_config *c, const char *path);

/* Apply one override "section.key=value" (the --set of the command line; spaces around the
 * names and the value are ignored). Errors read "--set model.activation=sigmoid: expected one
 * of relu, tanh" and the like; a malformed assignment names the expected form. */
maf_status maf_config_set(maf_config *c, const char *assignment);

/* Set one key from its section, key and value strings (the value is trimmed); `where` prefixes
 * error messages (e.g. "file.ini:7" gives "file.ini:7: [model] blocks = 0: out of range; ...").
 * Both functions above use it. */
maf_status maf_config_set_key(maf_config *c, const char *section, const char *key,
                              const char *value, const char *where);

/* The configuration as INI text with every key in a fixed order (malloc'd, caller frees; NULL
 * with MAF_ERR_NOMEM recorded if out of memory). Loading it back over any configuration gives
 * an identical struct (doubles are written with %.17g), provided every line fits inih's limit
 * of 198 characters ("key = value"), i.e. the string values (path, dir, train, val, test)
 * are at most 198 - 3 - the key's length characters (191 for path; fuzz_config checks this). */
char *maf_config_to_ini(const maf_config *c);

#ifdef __cplusplus
}
#endif
#endif
