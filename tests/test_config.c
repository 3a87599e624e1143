/* test_config.c - the run configuration: defaults, configs/reference.ini and quickstart.ini,
 * error messages (file, line, key, choices) for every kind of error, --set overrides, numeric
 * ranges, and the round trip through maf_config_to_ini. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <unistd.h>

#include "testutil.h"
#include "maf/config.h"

/* every field of maf_config: S = string, N = number/bool/enum */
/* clang-format off */
#define CFG_FIELDS(S, N)                                                                           \
    S(path) S(train) S(val) S(test) N(builtin_rows) N(standardize)                                 \
    N(blocks) N(hidden) N(layers) N(activation) N(batch_norm) N(order) N(degrees)                  \
    N(log_scale_bound) N(batch_size) N(lr) N(weight_decay) N(clip_norm) N(patience)                \
    N(max_epochs) N(max_steps) N(eval_every) N(seed) S(dir) N(tail_threshold)
/* clang-format on */

/* name of the first field where a and b differ (same = false) or agree (same = true), or NULL */
static const char *cfg_field(const maf_config *a, const maf_config *b, bool same)
{
#define CMP_S(f)                                                                                   \
    if ((strcmp(a->f, b->f) == 0) == same) return #f;
#define CMP_N(f)                                                                                   \
    if ((a->f == b->f) == same) return #f;
    CFG_FIELDS(CMP_S, CMP_N)
#undef CMP_S
#undef CMP_N
    return NULL;
}

#define ASSERT_CFG_EQUAL(a, b)                                                                     \
    do {                                                                                           \
        const char *d_ = cfg_field(a, b, false);                                                   \
        if (d_) fail_msg("field %s differs", d_);                                                  \
    } while (0)

/* a valid configuration that differs from the defaults in every field */
static void scrambled(maf_config *c)
{
    maf_config_default(c);
    strcpy(c->path, "/data/some file.h5");
    strcpy(c->train, "tr");
    strcpy(c->val, "va");
    strcpy(c->test, "te");
    c->builtin_rows = 1000000000;
    c->standardize = false;
    c->blocks = 1000;
    c->hidden = 1;
    c->layers = 100;
    c->activation = MAF_ACT_TANH;
    c->batch_norm = false;
    c->order = MAF_ORDER_RANDOM;
    c->degrees = MAF_DEGREES_RANDOM;
    c->log_scale_bound = 1.0 / 3.0;
    c->batch_size = 10000000;
    c->lr = 0.1;
    c->weight_decay = 1e-300;
    c->clip_norm = 2.5e-7;
    c->patience = 1000000;
    c->max_epochs = 12345678901L;
    c->max_steps = LONG_MAX;
    c->eval_every = 7;
    c->seed = UINT64_MAX;
    strcpy(c->dir, "runs/a;b#c");
    c->tail_threshold = -0.1 - 0.2;
}

static char tmp_path[64];

/* write text to a fresh temporary file (its name in tmp_path) */
static void write_tmp(const char *text)
{
    strcpy(tmp_path, "/tmp/maf_test_config_XXXXXX");
    int fd = mkstemp(tmp_path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* load text (as a file) over the defaults */
static maf_status load_text(const char *text, maf_config *c)
{
    maf_config_default(c);
    write_tmp(text);
    maf_status st = maf_config_load(c, tmp_path);
    unlink(tmp_path);
    return st;
}

/* the last error contains every string of the NULL-terminated list */
static void expect_msg(maf_status got, maf_status want, ...)
{
    const char *msg = maf_last_error();
    if (got != want) fail_msg("status %d, want %d (%s)", got, want, msg);
    va_list ap;
    va_start(ap, want);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
        if (!strstr(msg, s)) fail_msg("message '%s' lacks '%s'", msg, s);
    va_end(ap);
}

/* load text and expect a MAF_ERR_CONFIG naming the file, "file:line:" and the given strings */
#define EXPECT_LOAD_ERR(text, line, ...)                                                           \
    do {                                                                                           \
        maf_config c_;                                                                             \
        maf_status st_ = load_text(text, &c_);                                                     \
        char at_[96];                                                                              \
        snprintf(at_, sizeof at_, "%s:%d: ", tmp_path, line);                                      \
        expect_msg(st_, MAF_ERR_CONFIG, at_, __VA_ARGS__, NULL);                                   \
    } while (0)

static void config_path(char *buf, size_t n, const char *file)
{
    const char *dir = getenv("CONFIG_DIR");
    snprintf(buf, n, "%s/%s", dir && *dir ? dir : "../configs", file);
}

static void test_defaults(void **state)
{
    (void)state;
    maf_config c;
    memset(&c, 0x5a, sizeof c);
    maf_config_default(&c);
    assert_string_equal(c.path, "builtin:gauss8");
    assert_string_equal(c.train, "train");
    assert_string_equal(c.val, "val");
    assert_string_equal(c.test, "test");
    assert_int_equal(c.builtin_rows, 100000);
    assert_true(c.standardize);
    assert_int_equal(c.blocks, 5);
    assert_int_equal(c.hidden, 100);
    assert_int_equal(c.layers, 2);
    assert_int_equal(c.activation, MAF_ACT_RELU);
    assert_true(c.batch_norm);
    assert_int_equal(c.order, MAF_ORDER_REVERSE);
    assert_int_equal(c.degrees, MAF_DEGREES_SEQUENTIAL);
    assert_true(c.log_scale_bound == 2);
    assert_int_equal(c.batch_size, 100);
    assert_true(c.lr == 1e-4);
    assert_true(c.weight_decay == 1e-6);
    assert_true(c.clip_norm == 0);
    assert_int_equal(c.patience, 30);
    assert_int_equal(c.max_epochs, 0);
    assert_int_equal(c.max_steps, 0);
    assert_int_equal(c.eval_every, 0);
    assert_true(c.seed == 1);
    assert_string_equal(c.dir, "out");
    assert_true(c.tail_threshold == -100);
    /* the scrambled configuration really differs everywhere (the tests below rely on it) */
    maf_config s;
    scrambled(&s);
    const char *same = cfg_field(&s, &c, true);
    if (same) fail_msg("scrambled() leaves %s at its default", same);
}

/* reference.ini sets every key to its default: loaded over a configuration that differs from
 * the defaults in every field, it gives exactly the defaults */
static void test_reference_ini_is_defaults(void **state)
{
    (void)state;
    char path[4200];
    config_path(path, sizeof path, "reference.ini");
    maf_config c, d;
    scrambled(&c);
    CHECK_OK(maf_config_load(&c, path));
    maf_config_default(&d);
    ASSERT_CFG_EQUAL(&c, &d);
}

static void test_quickstart_ini(void **state)
{
    (void)state;
    char path[4200];
    config_path(path, sizeof path, "quickstart.ini");
    maf_config c;
    maf_config_default(&c);
    CHECK_OK(maf_config_load(&c, path));
    assert_string_equal(c.path, "builtin:gauss8");
    assert_int_equal(c.blocks, 5);
    assert_int_equal(c.hidden, 64);
    assert_int_equal(c.layers, 2);
    assert_int_equal(c.batch_size, 256);
    assert_true(c.lr == 1e-3);
    assert_int_equal(c.max_epochs, 30);
    assert_int_equal(c.patience, 5);
    assert_string_equal(c.dir, "out/quickstart");
}

/* every shipped configuration parses, and the paper's keeps its recipe */
static void test_shipped_configs_parse(void **state)
{
    (void)state;
    const char *files[] = {"stars.ini", "paper-maf5.ini", "../tests/e2e/tiny.ini"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[4200];
        config_path(path, sizeof path, files[i]);
        maf_config c;
        maf_config_default(&c);
        CHECK_OK(maf_config_load(&c, path));
        if (i == 1)
            assert_true(c.lr == 1e-4 && c.batch_size == 100 && c.patience == 30 &&
                        c.weight_decay == 1e-6 && c.log_scale_bound == 0);
    }
}

static void test_syntax_accepted(void **state)
{
    (void)state;
    maf_config c;
    CHECK_OK(load_text("; comment\n# comment\n\n[model]\n  blocks=7\nhidden : 3  \n"
                       "activation = tanh ; inline comment\nbatch_norm = off\n"
                       "[data]\nstandardize = no\n[model]\nblocks = 8\n[train]\nseed = 42\n",
                       &c));
    assert_int_equal(c.blocks, 8); /* a later value wins */
    assert_int_equal(c.hidden, 3);
    assert_int_equal(c.activation, MAF_ACT_TANH);
    assert_false(c.batch_norm);
    assert_false(c.standardize);
    assert_true(c.seed == 42);
    assert_int_equal(c.layers, 2); /* untouched keys keep their values */
    /* every boolean spelling */
    const char *yes[] = {"true", "yes", "on", "1"}, *no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        char text[64];
        snprintf(text, sizeof text, "[data]\nstandardize = %s\n", no[i]);
        CHECK_OK(load_text(text, &c));
        assert_false(c.standardize);
        snprintf(text, sizeof text, "[model]\nbatch_norm=%s\n", yes[i]);
        c.batch_norm = false;
        write_tmp(text);
        CHECK_OK(maf_config_load(&c, tmp_path));
        unlink(tmp_path);
        assert_true(c.batch_norm);
    }
    CHECK_OK(load_text("[data]\npath = builtin:funnel_4\n", &c));
    assert_string_equal(c.path, "builtin:funnel_4");
    CHECK_OK(load_text("\xEF\xBB\xBF[model]\nlayers = 3\n", &c)); /* UTF-8 byte order mark */
    assert_int_equal(c.layers, 3);
    CHECK_OK(load_text("[output]\r\ndir = a b\r\n[model]\r\nlayers\t=\t4\r\n", &c)); /* CRLF */
    assert_string_equal(c.dir, "a b");
    assert_int_equal(c.layers, 4);
    CHECK_OK(load_text("[model]\nlayers = 3", &c)); /* no final newline */
    assert_int_equal(c.layers, 3);
}

static void test_bad_choice(void **state)
{
    (void)state;
    EXPECT_LOAD_ERR(
        "[data]\n; a comment\n\n[model]\nblocks = 3\nhidden = 4\nactivation = sigmoid\n", 7,
        "[model] activation = sigmoid: expected one of relu, tanh");
    EXPECT_LOAD_ERR("[model]\norder = Reverse\n", 2, "order = Reverse", "reverse, random");
    EXPECT_LOAD_ERR("[model]\ndegrees = \n", 2, "degrees", "sequential, random");
    EXPECT_LOAD_ERR("[data]\nstandardize = maybe\n", 2, "standardize = maybe",
                    "true, false, yes, no, on, off, 1, 0");
    EXPECT_LOAD_ERR("[data]\nstandardize = True\n", 2, "standardize = True");
}

static void test_unknown_key(void **state)
{
    (void)state;
    EXPECT_LOAD_ERR("[model]\nblocks = 3\nhiden = 10\n", 3,
                    "[model] hiden: unknown key; keys of [model]: blocks, hidden, layers, "
                    "activation, batch_norm, order, degrees, log_scale_bound");
    EXPECT_LOAD_ERR("[train]\nLR = 0.1\n", 2, "LR: unknown key", "lr, weight_decay");
    EXPECT_LOAD_ERR("blocks = 3\n", 1, "blocks: key before any [section]", "data, model");
    EXPECT_LOAD_ERR("[model]\n = 3\n", 2, "missing key name");
}

static void test_unknown_section(void **state)
{
    (void)state;
    EXPECT_LOAD_ERR("; data\n[dta]\npath = x.h5\n", 2,
                    "[dta]: unknown section; sections: data, model, train, output");
    /* caught even without a key in it, and section names are case-sensitive */
    EXPECT_LOAD_ERR("[model]\nblocks = 2\n[Train]\n", 3, "[Train]: unknown section");
}

static void test_syntax_errors(void **state)
{
    (void)state;
    EXPECT_LOAD_ERR("[model]\nblocks = 3\nhidden 10\n", 3, "syntax error", "'hidden 10'");
    EXPECT_LOAD_ERR("[model]\nblocks = 3\n\n[train\nlr = 0.1\n", 4, "syntax error", "']'");
    /* a value cannot continue on an indented line (inih would pass it as a new value) */
    EXPECT_LOAD_ERR("[data]\npath = a.h5\n   dir = out\n", 3, "[data] path", "indented");
    /* a line longer than inih's buffer (it would be split silently) */
    char text[400] = "[output]\ndir = ";
    memset(text + strlen(text), 'a', 300);
    strcat(text, "\n");
    EXPECT_LOAD_ERR(text, 2, "line too long, at most 198 characters");
    /* '#' after a value is not a comment in inih: the message says so */
    EXPECT_LOAD_ERR("[model]\nblocks = 5 # five\n", 2, "not an integer", "'#' starts a comment");
    EXPECT_LOAD_ERR("[output]\ndir = out # here\n", 2, "dir = out # here", "' ;'");
}

static void test_first_error_wins(void **state)
{
    (void)state;
    /* syntax error first, then a bad value */
    EXPECT_LOAD_ERR("[model]\nbad line\nblocks = 0\n", 2, "syntax error");
    /* bad value first, then a syntax error, an unknown section and a bad key */
    EXPECT_LOAD_ERR("[model]\nblocks = 0\nbad line\n[dta]\nhiden=3\n", 2, "blocks = 0");
    /* the value before the error was applied, the one after it was not */
    maf_config c;
    assert_int_equal(load_text("[model]\nhidden = 9\nblocks = x\nlayers = 9\n", &c),
                     MAF_ERR_CONFIG);
    assert_int_equal(c.hidden, 9);
    assert_int_equal(c.layers, 2);
}

static void test_missing_file(void **state)
{
    (void)state;
    maf_config c;
    maf_config_default(&c);
    expect_msg(maf_config_load(&c, "/nonexistent/dir/x.ini"), MAF_ERR_IO, "/nonexistent/dir/x.ini",
               NULL);
}

static void test_numeric_ranges(void **state)
{
    (void)state;
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"[model]\nblocks = 0\n", "out of range; expected an integer in 1..1000"},
        {"[model]\nblocks = 1001\n", "1..1000"},
        {"[model]\nhidden = 100001\n", "1..100000"},
        {"[model]\nlayers = -1\n", "1..100"},
        {"[model]\nblocks = 5x\n", "not an integer"},
        {"[model]\nblocks = 2.0\n", "not an integer"},
        {"[model]\nblocks = 99999999999999999999\n", "out of range"},
        {"[model]\nlog_scale_bound = 50.5\n", "a number in [0, 50]"},
        {"[model]\nlog_scale_bound = -1e-9\n", "[0, 50]"},
        {"[data]\nbuiltin_rows = 1000000001\n", "1..1000000000"},
        {"[data]\nbuiltin_rows = 1e5\n", "not an integer"},
        {"[train]\nbatch_size = 10000001\n", "1..10000000"},
        {"[train]\nlr = 0\n", "out of range; expected a number in (0, 1]"},
        {"[train]\nlr = 1.0000001\n", "(0, 1]"},
        {"[train]\nlr = nan\n", "not a finite number"},
        {"[train]\nlr = 1e999\n", "not a finite number"},
        {"[train]\nlr = 0.1x\n", "not a number"},
        {"[train]\nweight_decay = -1e-9\n", "a number >= 0"},
        {"[train]\nclip_norm = -1\n", ">= 0"},
        {"[train]\npatience = 0\n", "1..1000000"},
        {"[train]\nmax_epochs = -1\n", "an integer >= 0"},
        {"[train]\nmax_steps = 9223372036854775808\n", "out of range"},
        {"[train]\neval_every = -5\n", ">= 0"},
        {"[train]\nseed = -1\n", "out of range; expected an integer in 0..18446744073709551615"},
        {"[train]\nseed = 18446744073709551616\n", "out of range"},
        {"[output]\ntail_threshold = -inf\n", "not a finite number"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        EXPECT_LOAD_ERR(bad[i].text, 2, bad[i].want);
    /* the bounds themselves are valid */
    maf_config c;
    CHECK_OK(load_text("[model]\nblocks = 1000\nlog_scale_bound = 0\n[train]\nlr = 1\n"
                       "weight_decay = 0\nseed = 18446744073709551615\nmax_steps = "
                       "9223372036854775807\n[data]\nbuiltin_rows = 1\n",
                       &c));
    assert_int_equal(c.blocks, 1000);
    assert_true(c.log_scale_bound == 0 && c.lr == 1 && c.weight_decay == 0);
    assert_true(c.seed == UINT64_MAX && c.max_steps == LONG_MAX && c.builtin_rows == 1);
}

static void test_string_values(void **state)
{
    (void)state;
    EXPECT_LOAD_ERR("[data]\npath =\n", 2, "[data] path", "empty");
    EXPECT_LOAD_ERR("[output]\ndir = ; nothing\n", 2, "[output] dir", "empty"); /* a comment */
    EXPECT_LOAD_ERR("[output]\ndir =;x\n", 2, "[output] dir = ;x", "comment");
    EXPECT_LOAD_ERR("[data]\ntest = #3\n", 2, "[data] test = #3", "comment");
    EXPECT_LOAD_ERR("[data]\ntrain = \n", 2, "[data] train", "empty");
    EXPECT_LOAD_ERR("[data]\npath = builtin:\n", 2, "builtin:NAME");
    EXPECT_LOAD_ERR("[data]\npath = builtin:Gauss8\n", 2, "path = builtin:Gauss8", "a-z, 0-9, _");
    EXPECT_LOAD_ERR("[data]\npath = builtin:gauss-8\n", 2, "builtin:NAME");
    maf_config c;
    maf_config_default(&c);
    char big[5000];
    memset(big, 'p', sizeof big);
    strcpy(big + 4095, "");
    CHECK_OK(maf_config_set_key(&c, "data", "path", big, "here"));
    assert_int_equal(strlen(c.path), 4095);
    big[4095] = 'p';
    strcpy(big + 4096, "");
    expect_msg(maf_config_set_key(&c, "data", "path", big, "here"), MAF_ERR_CONFIG,
               "here: [data] path = pppp", "too long, at most 4095 characters", NULL);
    char set[300] = "data.train=";
    memset(set + strlen(set), 'd', 256);
    expect_msg(maf_config_set(&c, set), MAF_ERR_CONFIG, "--set data.train=dddd",
               "too long, at most 255 characters", NULL);
    expect_msg(maf_config_set(&c, "data.val=a\tb\nc"), MAF_ERR_CONFIG, "control character", NULL);
    expect_msg(maf_config_set(&c, "data.path=x.h5 ;comment"), MAF_ERR_CONFIG, "' ;'", NULL);
}

static void test_set(void **state)
{
    (void)state;
    maf_config c, d;
    maf_config_default(&c);
    CHECK_OK(maf_config_set(&c, "model.blocks=7"));
    CHECK_OK(maf_config_set(&c, " train.lr = 0.5 "));
    CHECK_OK(maf_config_set(&c, "model.activation=tanh"));
    CHECK_OK(maf_config_set(&c, "data.path=/d/x=y.h5")); /* the first '=' splits */
    CHECK_OK(maf_config_set(&c, "output.dir=a.b/c"));
    CHECK_OK(maf_config_set(&c, "train.seed=18446744073709551615"));
    assert_int_equal(c.blocks, 7);
    assert_true(c.lr == 0.5);
    assert_int_equal(c.activation, MAF_ACT_TANH);
    assert_string_equal(c.path, "/d/x=y.h5");
    assert_string_equal(c.dir, "a.b/c");
    assert_true(c.seed == UINT64_MAX);
    /* errors leave the value alone and name the argument, without repeating it */
    d = c;
    maf_status st = maf_config_set(&c, "model.activation=sigmoid");
    expect_msg(st, MAF_ERR_CONFIG, NULL);
    assert_string_equal(maf_last_error(),
                        "--set model.activation=sigmoid: expected one of relu, tanh");
    expect_msg(maf_config_set(&c, "model.blocks=0"), MAF_ERR_CONFIG,
               "--set model.blocks=0: ", "1..1000", NULL);
    expect_msg(maf_config_set(&c, "model.hiden=3"), MAF_ERR_CONFIG,
               "--set model.hiden=3: unknown key; keys of [model]: blocks, hidden", NULL);
    expect_msg(maf_config_set(&c, "dta.path=x"), MAF_ERR_CONFIG,
               "--set dta.path=x: unknown section [dta]; sections: data, model, train, output",
               NULL);
    const char *malformed[] = {
        "modelblocks=3", "model.blocks", "model.blocks 3", ".blocks=3", "model.=3", "=3", ""};
    for (int i = 0; i < 7; i++) {
        char want[64];
        snprintf(want, sizeof want, "--set %s: ", malformed[i]);
        expect_msg(maf_config_set(&c, malformed[i]), MAF_ERR_CONFIG, want,
                   "expected section.key=value", NULL);
    }
    ASSERT_CFG_EQUAL(&c, &d);
    /* maf_config_set_key's prefix */
    expect_msg(maf_config_set_key(&c, "train", "patience", "-3", "file.ini:7"), MAF_ERR_CONFIG,
               "file.ini:7: [train] patience = -3: out of range; expected an integer in 1..1000000",
               NULL);
    CHECK_OK(maf_config_set_key(&c, "train", "patience", "  12\t", "x"));
    assert_int_equal(c.patience, 12);
}

/* maf_config_to_ini(c), loaded over `start` (which differs from c in every field), gives c */
static void round_trip(const maf_config *c, const maf_config *start)
{
    const char *same = cfg_field(c, start, true);
    if (same) fail_msg("start agrees with c in %s", same);
    char *text = maf_config_to_ini(c);
    assert_non_null(text);
    maf_config back = *start;
    write_tmp(text);
    maf_status st = maf_config_load(&back, tmp_path);
    unlink(tmp_path);
    if (st != MAF_OK) fail_msg("%s\n%s", maf_last_error(), text);
    ASSERT_CFG_EQUAL(&back, c);
    free(text);
}

static void test_round_trip(void **state)
{
    (void)state;
    maf_config c, d, s;
    maf_config_default(&d);
    scrambled(&s);
    round_trip(&d, &s);
    round_trip(&s, &d);
    /* doubles that %g would round, extreme values */
    c = s;
    c.lr = 0.1 + 0.2 - 0.3 + 1e-12;
    c.log_scale_bound = nextafter(6, 7);
    c.weight_decay = 4.9406564584124654e-324; /* smallest subnormal */
    c.tail_threshold = -1.7976931348623157e308;
    c.seed = 0;
    c.max_epochs = 1;
    round_trip(&c, &d);
    /* the text: every key in a fixed order, with the expected spellings */
    char *text = maf_config_to_ini(&c);
    assert_non_null(text);
    const char *order[] = {"[data]\npath = /data/some file.h5\n",
                           "standardize = false\n",
                           "[model]\n",
                           "activation = tanh\n",
                           "order = random\n",
                           "degrees = random\n",
                           "[train]\n",
                           "seed = 0\n",
                           "[output]\n",
                           "dir = runs/a;b#c\n",
                           "tail_threshold = -1.7976931348623157e+308\n"};
    const char *at = text;
    for (int i = 0; i < 11; i++) {
        const char *p = strstr(at, order[i]);
        if (!p) fail_msg("'%s' missing or out of order in\n%s", order[i], text);
        at = p;
    }
    free(text);
}

static void test_null_arguments(void **state)
{
    (void)state;
    maf_config c;
    maf_config_default(&c);
    assert_int_equal(maf_config_load(&c, NULL), MAF_ERR_ARG);
    assert_int_equal(maf_config_set(NULL, "model.blocks=3"), MAF_ERR_ARG);
    assert_int_equal(maf_config_set_key(&c, "model", NULL, "3", "x"), MAF_ERR_ARG);
    /* a directory opens but cannot be read */
    assert_int_equal(maf_config_load(&c, "/tmp"), MAF_ERR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),        cmocka_unit_test(test_reference_ini_is_defaults),
        cmocka_unit_test(test_quickstart_ini),  cmocka_unit_test(test_shipped_configs_parse),
        cmocka_unit_test(test_syntax_accepted), cmocka_unit_test(test_bad_choice),
        cmocka_unit_test(test_unknown_key),     cmocka_unit_test(test_unknown_section),
        cmocka_unit_test(test_syntax_errors),   cmocka_unit_test(test_first_error_wins),
        cmocka_unit_test(test_missing_file),    cmocka_unit_test(test_numeric_ranges),
        cmocka_unit_test(test_string_values),   cmocka_unit_test(test_set),
        cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_null_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
