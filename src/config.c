/* config.c - the run configuration: defaults, INI files (parsed by inih), --set overrides, and
 * the resolved configuration written back as INI text. Every key is one row of a table. */
#include "maf/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

typedef enum { T_STR, T_INT, T_LONG, T_U64, T_DBL, T_BOOL, T_ENUM } key_type;

typedef struct {
    const char *section, *key;
    key_type type;
    size_t off, size;
    long long ilo, ihi;         /* T_INT, T_LONG range; ihi == LLONG_MAX: no upper bound */
    double dlo, dhi;            /* T_DBL range; +-INFINITY: unbounded */
    bool lo_open;               /* T_DBL: dlo itself is excluded */
    const char *const *choices; /* T_ENUM: names, NULL-terminated, index = enum value */
} key_def;

static const char *const activation_names[] = {"relu", "tanh", NULL};
static const char *const order_names[] = {"reverse", "random", NULL};
static const char *const degree_names[] = {"sequential", "random", NULL};
_Static_assert(sizeof(maf_activation) == sizeof(int) && sizeof(maf_order) == sizeof(int) &&
                   sizeof(maf_degrees) == sizeof(int),
               "enums are stored as int");

#define F(f) offsetof(maf_config, f), sizeof(((maf_config *)0)->f)
#define KSTR(s, k, f)                                                                              \
    {                                                                                              \
        s, k, T_STR, F(f), 0, 0, 0, 0, false, NULL                                                 \
    }
#define KINT(s, k, t, f, a, b)                                                                     \
    {                                                                                              \
        s, k, t, F(f), a, b, 0, 0, false, NULL                                                     \
    }
#define KDBL(s, k, f, a, b, o)                                                                     \
    {                                                                                              \
        s, k, T_DBL, F(f), 0, 0, a, b, o, NULL                                                     \
    }
#define KBOOL(s, k, f)                                                                             \
    {                                                                                              \
        s, k, T_BOOL, F(f), 0, 0, 0, 0, false, NULL                                                \
    }
#define KENUM(s, k, f, ch)                                                                         \
    {                                                                                              \
        s, k, T_ENUM, F(f), 0, 0, 0, 0, false, ch                                                  \
    }

/* the fixed order of maf_config_to_ini; the keys of a section are consecutive */
static const key_def keys[] = {
    KSTR("data", "path", path),
    KSTR("data", "train", train),
    KSTR("data", "val", val),
    KSTR("data", "test", test),
    KINT("data", "builtin_rows", T_LONG, builtin_rows, 1, 1000000000),
    KBOOL("data", "standardize", standardize),
    KINT("model", "blocks", T_INT, blocks, 1, 1000),
    KINT("model", "hidden", T_INT, hidden, 1, 100000),
    KINT("model", "layers", T_INT, layers, 1, 100),
    KENUM("model", "activation", activation, activation_names),
    KBOOL("model", "batch_norm", batch_norm),
    KENUM("model", "order", order, order_names),
    KENUM("model", "degrees", degrees, degree_names),
    KDBL("model", "log_scale_bound", log_scale_bound, 0, 50, false),
    KINT("train", "batch_size", T_INT, batch_size, 1, 10000000),
    KDBL("train", "lr", lr, 0, 1, true),
    KDBL("train", "weight_decay", weight_decay, 0, INFINITY, false),
    KDBL("train", "clip_norm", clip_norm, 0, INFINITY, false),
    KINT("train", "patience", T_INT, patience, 1, 1000000),
    KINT("train", "max_epochs", T_LONG, max_epochs, 0, LLONG_MAX),
    KINT("train", "max_steps", T_LONG, max_steps, 0, LLONG_MAX),
    KINT("train", "eval_every", T_LONG, eval_every, 0, LLONG_MAX),
    {"train", "seed", T_U64, F(seed), 0, 0, 0, 0, false, NULL},
    KSTR("output", "dir", dir),
    KDBL("output", "tail_threshold", tail_threshold, -INFINITY, INFINITY, false),
};
#define NKEYS    (sizeof keys / sizeof keys[0])
#define SECTIONS "data, model, train, output"

static const struct {
    const char *name;
    bool value;
} bool_names[] = {{"true", true}, {"false", false}, {"yes", true}, {"no", false},
                  {"on", true},   {"off", false},   {"1", true},   {"0", false}};

void maf_config_default(maf_config *c)
{
    *c = (maf_config){.path = "builtin:gauss8",
                      .train = "train",
                      .val = "val",
                      .test = "test",
                      .builtin_rows = 100000,
                      .standardize = true,
                      .blocks = 5,
                      .hidden = 100,
                      .layers = 2,
                      .activation = MAF_ACT_RELU,
                      .batch_norm = true,
                      .order = MAF_ORDER_REVERSE,
                      .degrees = MAF_DEGREES_SEQUENTIAL,
                      .log_scale_bound = 2,
                      .batch_size = 100,
                      .lr = 1e-4,
                      .weight_decay = 1e-6,
                      .clip_norm = 0,
                      .patience = 30,
                      .max_epochs = 0,
                      .max_steps = 0,
                      .eval_every = 0,
                      .seed = 1,
                      .dir = "out",
                      .tail_threshold = -100};
}

/* record "pre: <message>" as a configuration error */
__attribute__((format(printf, 2, 3))) static maf_status bad(const char *pre, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return maf_fail(MAF_ERR_CONFIG, "%s: %s", pre, msg);
}

/* "an integer in 1..1000", "one of relu, tanh", ... for the messages */
static void describe(const key_def *k, char *buf, size_t n)
{
    size_t used = 0;
    switch (k->type) {
    case T_STR:
        if (k->off == offsetof(maf_config, path))
            snprintf(buf, n, "an HDF5 file or builtin:NAME with NAME of a-z, 0-9, _");
        else
            snprintf(buf, n, "a non-empty string of at most %zu characters", k->size - 1);
        return;
    case T_INT:
    case T_LONG:
        if (k->ihi == LLONG_MAX)
            snprintf(buf, n, "an integer >= %lld", k->ilo);
        else
            snprintf(buf, n, "an integer in %lld..%lld", k->ilo, k->ihi);
        return;
    case T_U64:
        snprintf(buf, n, "an integer in 0..%" PRIu64, UINT64_MAX);
        return;
    case T_DBL:
        if (isinf(k->dlo))
            snprintf(buf, n, "a finite number");
        else if (isinf(k->dhi))
            snprintf(buf, n, "a number %s %g", k->lo_open ? ">" : ">=", k->dlo);
        else
            snprintf(buf, n, "a number in %c%g, %g]", k->lo_open ? '(' : '[', k->dlo, k->dhi);
        return;
    case T_BOOL:
    case T_ENUM:
        used = (size_t)snprintf(buf, n, "one of");
        for (size_t i = 0; k->type == T_BOOL ? i < 8 : k->choices[i] != NULL; i++) {
            const char *name = k->type == T_BOOL ? bool_names[i].name : k->choices[i];
            if (used < n)
                used += (size_t)snprintf(buf + used, n - used, "%s %s", i ? "," : "", name);
        }
        return;
    }
}

static const key_def *find_key(const char *section, const char *key, bool *section_known)
{
    *section_known = false;
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(keys[i].section, section) != 0) continue;
        *section_known = true;
        if (strcmp(keys[i].key, key) == 0) return &keys[i];
    }
    return NULL;
}

/* show = false: `where` already shows the assignment (--set), so it is not repeated */
static maf_status set_key(maf_config *c, const char *section, const char *key, const char *value,
                          const char *where, bool show)
{
    bool known;
    const key_def *k = find_key(section, key, &known);
    if (!known && show) return bad(where, "[%.60s]: unknown section; sections: " SECTIONS, section);
    if (!known) return bad(where, "unknown section [%.60s]; sections: " SECTIONS, section);
    if (!k) {
        char list[512];
        size_t used = 0;
        list[0] = '\0';
        for (size_t i = 0; i < NKEYS; i++)
            if (strcmp(keys[i].section, section) == 0 && used < sizeof list)
                used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "",
                                         keys[i].key);
        if (!*key) return bad(where, "[%s]: missing key name before '='", section);
        if (show)
            return bad(where, "[%s] %.60s: unknown key; keys of [%s]: %s", section, key, section,
                       list);
        return bad(where, "unknown key; keys of [%s]: %s", section, list);
    }
    /* trim the value */
    while (isspace((unsigned char)*value)) value++;
    size_t len = strlen(value);
    while (len > 0 && isspace((unsigned char)value[len - 1])) len--;
    char pre[1024], range[256], num[96];
    if (show)
        snprintf(pre, sizeof pre, "%s: [%s] %s = %.*s%s", where, section, key,
                 (int)(len < 60 ? len : 60), value, len > 60 ? "..." : "");
    else
        snprintf(pre, sizeof pre, "%s", where);
    describe(k, range, sizeof range);
    void *p = (char *)c + k->off;

    if (k->type == T_STR) {
        if (len == 0) return bad(pre, "empty; expected %s", range);
        if (len >= k->size) return bad(pre, "too long, at most %zu characters", k->size - 1);
        for (size_t i = 0; i < len; i++) {
            if (iscntrl((unsigned char)value[i])) return bad(pre, "contains a control character");
            if ((value[i] == ';' || value[i] == '#') &&
                (i == 0 || value[i - 1] == ' ' || value[i - 1] == '\t'))
                return bad(pre,
                           "'%c' at the start of the value or after a blank: in INI files ' ;' "
                           "starts a comment after a value, '#' only at the start of a line",
                           value[i]);
        }
        if (k->off == offsetof(maf_config, path) && strncmp(value, "builtin:", 8) == 0) {
            size_t i = 8;
            while (i < len && (islower((unsigned char)value[i]) ||
                               isdigit((unsigned char)value[i]) || value[i] == '_'))
                i++;
            if (i == 8 || i < len) return bad(pre, "expected %s (e.g. builtin:gauss8)", range);
        }
        memset(p, 0, k->size);
        memcpy(p, value, len);
        return MAF_OK;
    }

    /* every other type parses a short NUL-terminated copy */
    const char *hint = strstr(value, " #") || strstr(value, "\t#")
                           ? " ('#' starts a comment only at the start of a line; write ' ;' "
                             "before a comment after a value)"
                           : "";
    if (len >= sizeof num) len = sizeof num - 1; /* far too long for any number: junk anyway */
    memcpy(num, value, len);
    num[len] = '\0';
    char *end;
    errno = 0;
    switch (k->type) {
    case T_INT:
    case T_LONG: {
        long long hi = k->type == T_LONG && k->ihi > LONG_MAX ? LONG_MAX : k->ihi;
        long long v = strtoll(num, &end, 10);
        if (end == num || *end) return bad(pre, "not an integer%s; expected %s", hint, range);
        if (errno == ERANGE || v < k->ilo || v > hi)
            return bad(pre, "out of range; expected %s", range);
        if (k->type == T_INT)
            *(int *)p = (int)v;
        else
            *(long *)p = (long)v;
        return MAF_OK;
    }
    case T_U64: {
        unsigned long long v = strtoull(num, &end, 10);
        if (end == num || *end) return bad(pre, "not an integer%s; expected %s", hint, range);
        if (num[0] == '-' || errno == ERANGE) return bad(pre, "out of range; expected %s", range);
        *(uint64_t *)p = (uint64_t)v;
        return MAF_OK;
    }
    case T_DBL: {
        double v = strtod(num, &end);
        if (end == num || *end) return bad(pre, "not a number%s; expected %s", hint, range);
        if (!isfinite(v)) return bad(pre, "not a finite number; expected %s", range);
        if ((k->lo_open ? v <= k->dlo : v < k->dlo) || v > k->dhi)
            return bad(pre, "out of range; expected %s", range);
        *(double *)p = v;
        return MAF_OK;
    }
    case T_BOOL:
        for (size_t i = 0; i < sizeof bool_names / sizeof bool_names[0]; i++)
            if (strcmp(num, bool_names[i].name) == 0) {
                *(bool *)p = bool_names[i].value;
                return MAF_OK;
            }
        return bad(pre, "expected %s%s", range, hint);
    case T_ENUM:
        for (int i = 0; k->choices[i]; i++)
            if (strcmp(num, k->choices[i]) == 0) {
                memcpy(p, &i, sizeof i);
                return MAF_OK;
            }
        return bad(pre, "expected %s%s", range, hint);
    case T_STR:
        break;
    }
    return maf_fail(MAF_ERR_STATE, "maf_config_set_key: bad key table");
}

maf_status maf_config_set_key(maf_config *c, const char *section, const char *key,
                              const char *value, const char *where)
{
    if (!c || !section || !key || !value)
        return maf_fail(MAF_ERR_ARG, "maf_config_set_key: NULL argument");
    return set_key(c, section, key, value, where ? where : "config", true);
}

/* copy s[0..n) trimmed into buf (truncated to its size) */
static void trimmed(char *buf, size_t size, const char *s, size_t n)
{
    while (n > 0 && isspace((unsigned char)*s)) s++, n--;
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
    if (n >= size) n = size - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
}

maf_status maf_config_set(maf_config *c, const char *assignment)
{
    if (!c || !assignment) return maf_fail(MAF_ERR_ARG, "maf_config_set: NULL argument");
    char where[256], section[64], key[128];
    size_t alen = strlen(assignment);
    snprintf(where, sizeof where, "--set %.200s%s", assignment, alen > 200 ? "..." : "");
    const char *eq = strchr(assignment, '=');
    const char *dot = eq ? memchr(assignment, '.', (size_t)(eq - assignment)) : NULL;
    if (dot) {
        trimmed(section, sizeof section, assignment, (size_t)(dot - assignment));
        trimmed(key, sizeof key, dot + 1, (size_t)(eq - dot - 1));
    }
    if (!dot || !*section || !*key)
        return bad(where, "expected section.key=value (e.g. --set model.blocks=5)");
    return set_key(c, section, key, eq + 1, where, false);
}

/* ---- INI files ---- */

typedef struct {
    FILE *f;
    maf_config *c;
    const char *path;
    int line;          /* lines read so far: the line inih is working on */
    bool indented;     /* that line starts with a blank */
    char last_key[64]; /* the key inih would continue with an indented line */
    maf_status st;     /* first error, and its line */
    int err_line;
} loader;

__attribute__((format(printf, 2, 3))) static void fail_at(loader *L, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    L->st = maf_fail(MAF_ERR_CONFIG, "%s:%d: %s", L->path, L->line, msg);
    L->err_line = L->line;
}

/* inih's line reader: counts lines, rejects lines longer than inih's buffer (inih would split
 * them silently), checks section names as soon as a header appears, and stops at the first
 * error. */
static char *read_line(char *str, int num, void *stream)
{
    loader *L = stream;
    if (L->st != MAF_OK) return NULL;
    if (!fgets(str, num, L->f)) {
        if (ferror(L->f)) {
            L->st = maf_fail(MAF_ERR_IO, "%s:%d: read error", L->path, L->line + 1);
            L->err_line = L->line + 1;
        }
        return NULL;
    }
    L->line++;
    size_t n = strlen(str);
    if (n + 1 == (size_t)num && str[n - 1] != '\n' && getc(L->f) != EOF) {
        fail_at(L, "line too long, at most %d characters", num - 2);
        return NULL;
    }
    L->indented = str[0] == ' ' || str[0] == '\t';
    const char *s = str;
    if (L->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3;
    while (*s == ' ' || *s == '\t') s++;
    const char *e = *s == '[' ? strchr(s, ']') : NULL;
    if (e) {
        L->last_key[0] = '\0';
        bool known = false;
        for (size_t i = 0; i < NKEYS; i++)
            known |= strlen(keys[i].section) == (size_t)(e - s - 1) &&
                     strncmp(keys[i].section, s + 1, (size_t)(e - s - 1)) == 0;
        if (!known) {
            int w = (int)(e - s - 1);
            fail_at(L, "[%.*s]: unknown section; sections: " SECTIONS, w < 60 ? w : 60, s + 1);
            return NULL;
        }
    }
    return str;
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
    loader *L = user;
    if (L->st != MAF_OK || !name) return 1;
    if (L->indented && L->last_key[0] && strcmp(name, L->last_key) == 0) {
        fail_at(L,
                "[%s] %s: an indented line continues the previous value; multi-line values are "
                "not supported (remove the indentation)",
                section, name);
        return 0;
    }
    snprintf(L->last_key, sizeof L->last_key, "%s", name);
    if (!*section) {
        fail_at(L, "%.60s: key before any [section]; sections: " SECTIONS, name);
        return 0;
    }
    char where[600];
    snprintf(where, sizeof where, "%.500s:%d", L->path, L->line);
    L->st = set_key(L->c, section, name, value, where, true);
    if (L->st == MAF_OK) return 1;
    L->err_line = L->line;
    return 0;
}

/* inih found a syntax error at line `line`: read that line again to say what it holds */
static void syntax_error(loader *L, int line)
{
    char buf[512] = "";
    rewind(L->f);
    for (int i = 0; i < line; i++)
        if (!fgets(buf, sizeof buf, L->f)) break;
    char text[512];
    trimmed(text, sizeof text, buf, strlen(buf));
    L->line = line;
    if (text[0] == '[')
        fail_at(L, "syntax error: a section header needs a closing ']', got '%.60s'", text);
    else
        fail_at(L, "syntax error: expected 'key = value', '[section]' or a comment, got '%.60s'",
                text);
}

maf_status maf_config_load(maf_config *c, const char *path)
{
    if (!c || !path) return maf_fail(MAF_ERR_ARG, "maf_config_load: NULL argument");
    FILE *f = fopen(path, "r");
    if (!f) return maf_fail(MAF_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    loader L = {.f = f, .c = c, .path = path, .st = MAF_OK};
    int r = ini_parse_stream(read_line, &L, on_value, &L);
    if (r > 0 && (L.st == MAF_OK || r < L.err_line))
        syntax_error(&L, r);
    else if (r < 0 && L.st == MAF_OK)
        L.st = maf_fail(MAF_ERR_NOMEM, "%s: inih failed (%d)", path, r);
    fclose(f);
    return L.st;
}

/* ---- back to INI text ---- */

/* write the text into out (cap bytes) or, with out NULL, only measure it; returns its length */
static size_t write_ini(const maf_config *c, char *out, size_t cap)
{
    size_t n = 0;
#define PUT(...) n += (size_t)snprintf(out ? out + n : NULL, out ? cap - n : 0, __VA_ARGS__)
    PUT("; maf configuration: every key, resolved\n");
    for (size_t i = 0; i < NKEYS; i++) {
        const key_def *k = &keys[i];
        const void *p = (const char *)c + k->off;
        if (i == 0 || strcmp(k->section, keys[i - 1].section) != 0) PUT("\n[%s]\n", k->section);
        PUT("%s = ", k->key);
        int e;
        switch (k->type) {
        case T_STR:
            PUT("%.*s\n", (int)k->size, (const char *)p);
            break;
        case T_INT:
            PUT("%d\n", *(const int *)p);
            break;
        case T_LONG:
            PUT("%ld\n", *(const long *)p);
            break;
        case T_U64:
            PUT("%" PRIu64 "\n", *(const uint64_t *)p);
            break;
        case T_DBL:
            PUT("%.17g\n", *(const double *)p);
            break;
        case T_BOOL:
            PUT("%s\n", *(const bool *)p ? "true" : "false");
            break;
        case T_ENUM:
            memcpy(&e, p, sizeof e);
            for (int j = 0; j <= e && k->choices[j]; j++)
                if (j == e) PUT("%s", k->choices[j]);
            PUT("\n");
            break;
        }
    }
#undef PUT
    return n;
}

char *maf_config_to_ini(const maf_config *c)
{
    size_t n = write_ini(c, NULL, 0);
    char *s = malloc(n + 1);
    if (!s) {
        maf_fail(MAF_ERR_NOMEM, "maf_config_to_ini: out of memory");
        return NULL;
    }
    write_ini(c, s, n + 1);
    return s;
}
