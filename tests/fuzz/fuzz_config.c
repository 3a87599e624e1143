/* fuzz_config.c - libFuzzer harness of the configuration reader (src/config.c, inih).
 *
 * The input is split at its last newline: everything before it is an INI file given to
 * maf_config_load(), the last line is a --set argument given to maf_config_set(). Then the
 * invariant of config.h is checked: maf_config_to_ini() of the resulting configuration, loaded
 * back over the defaults, gives an identical configuration whenever every line of that text
 * fits inih's 198 characters. The harness never prints except to report a broken invariant
 * (then it aborts, so libFuzzer saves the input). */
#include "fuzz_util.h"

#include <math.h>
#include <stdbool.h>

#include "maf/config.h"

static fuzz_memfile ini_file;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_memfile_open(&ini_file, "fuzz_config");
    return 0;
}

static bool same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* field by field: the struct has padding, which maf_config_default does not define */
static const char *config_diff(const maf_config *a, const maf_config *b)
{
#define STR(f)                                                                                     \
    if (memcmp(a->f, b->f, sizeof a->f) != 0) return #f
#define NUM(f)                                                                                     \
    if (a->f != b->f) return #f
#define DBL(f)                                                                                     \
    if (!same_double(a->f, b->f)) return #f
    STR(path);
    STR(train);
    STR(val);
    STR(test);
    NUM(builtin_rows);
    NUM(standardize);
    NUM(blocks);
    NUM(hidden);
    NUM(layers);
    NUM(activation);
    NUM(batch_norm);
    NUM(order);
    NUM(degrees);
    DBL(log_scale_bound);
    NUM(batch_size);
    DBL(lr);
    DBL(weight_decay);
    DBL(clip_norm);
    NUM(patience);
    NUM(max_epochs);
    NUM(max_steps);
    NUM(eval_every);
    NUM(seed);
    STR(dir);
    DBL(tail_threshold);
#undef STR
#undef NUM
#undef DBL
    return NULL;
}

/* every line of text is at most 198 characters (inih's limit) */
static bool lines_fit(const char *text)
{
    for (const char *s = text; *s;) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        if (len > 198) return false;
        s += len + (nl != NULL);
    }
    return true;
}

static void broken(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_config: %s: %s\n", what, detail);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* split off the last line */
    size_t ini_len = size;
    while (ini_len > 0 && data[ini_len - 1] != '\n') ini_len--;
    size_t set_len = size - ini_len;
    char *set = malloc(set_len + 1);
    if (!set) return 0;
    memcpy(set, data + ini_len, set_len);
    set[set_len] = '\0';

    maf_config c;
    maf_config_default(&c);
    maf_status st = maf_config_load(&c, fuzz_memfile_set(&ini_file, data, ini_len));
    if (st != MAF_OK && st != MAF_ERR_CONFIG) broken("maf_config_load: unexpected status", set);
    if (st != MAF_OK && !*maf_last_error()) broken("maf_config_load failed", "no message");
    st = maf_config_set(&c, set);
    if (st != MAF_OK && st != MAF_ERR_CONFIG) broken("maf_config_set: unexpected status", set);
    if (st != MAF_OK && !*maf_last_error()) broken("maf_config_set failed", "no message");
    /* the same override on the defaults: a failed load may leave c partly updated */
    maf_config d;
    maf_config_default(&d);
    maf_config_set(&d, set);
    free(set);

    /* round trip of both configurations (each is valid whatever failed above) */
    const maf_config *cs[2] = {&c, &d};
    for (int i = 0; i < 2; i++) {
        char *text = maf_config_to_ini(cs[i]);
        if (!text) broken("maf_config_to_ini", maf_last_error());
        if (lines_fit(text)) {
            maf_config back;
            maf_config_default(&back);
            st = maf_config_load(&back,
                                 fuzz_memfile_set(&ini_file, (const uint8_t *)text, strlen(text)));
            if (st != MAF_OK) broken("maf_config_to_ini text does not load", maf_last_error());
            const char *field = config_diff(cs[i], &back);
            if (field) broken("maf_config_to_ini round trip changed", field);
        }
        free(text);
    }
    return 0;
}
