/* test_h5io.c - the atomic HDF5 writer, the checked reader and the evaluation log: round trips of
 * every type, reader errors naming path and object, no temporary left by commit, the old file
 * surviving a writer killed before commit, resume truncation, and rows and attributes of the log
 * surviving SIGKILL at random moments (a forked child appends while the parent kills it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hdf5.h>

#include "testutil.h"
#include "maf/h5io.h"
#include "maf/evallog.h"

/* each test gets a fresh folder under /tmp, removed afterwards with everything in it */
typedef struct {
    char dir[64];
    char path[128]; /* <dir>/f.h5 */
} tmp_state;

static int make_dir(void **state)
{
    tmp_state *t = calloc(1, sizeof *t);
    if (!t) return -1;
    strcpy(t->dir, "/tmp/maf_h5io_XXXXXX");
    if (!mkdtemp(t->dir)) {
        free(t);
        return -1;
    }
    snprintf(t->path, sizeof t->path, "%s/f.h5", t->dir);
    *state = t;
    return 0;
}

static int remove_dir(void **state)
{
    tmp_state *t = *state;
    DIR *d = opendir(t->dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", t->dir, e->d_name);
            unlink(p);
        }
    if (d) closedir(d);
    int rc = rmdir(t->dir);
    free(t);
    return rc;
}

static bool exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static char *tmp_name(const char *path)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s.tmp", path);
    return buf;
}

/* the call fails with `code` and its message contains each of the (up to 3) strings */
static void expect_fail(maf_status st, maf_status code, const char *a, const char *b, const char *c)
{
    if (st != code)
        fail_msg("expected %s, got %s: %s", maf_status_str(code), maf_status_str(st),
                 maf_last_error());
    const char *want[3] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (want[i] && !strstr(maf_last_error(), want[i]))
            fail_msg("message '%s' lacks '%s'", maf_last_error(), want[i]);
}

static const char *UTF8_TEXT = "[flow]\nblocks = 5\n# σ → ∞\n";

static void write_sample(const char *path, float scale)
{
    maf_h5_writer *w;
    float f[12];
    for (int i = 0; i < 12; i++) f[i] = scale * (float)i - 0.5f;
    CHECK_OK(maf_h5w_create(path, &w));
    CHECK_OK(maf_h5w_put_f32(w, "model/made0.w0", f, 3, 4));
    CHECK_OK(maf_h5w_commit(w));
}

static void test_writer_round_trip(void **state)
{
    tmp_state *t = *state;
    float f32[12];
    double f64[6] = {1e-300, -2.5, 3.0 / 7, 1e300, -0.0, 42};
    int32_t i32[4] = {INT32_MIN, -1, 0, INT32_MAX};
    int64_t i64[3] = {INT64_MIN, 5000000000LL, INT64_MAX};
    uint64_t u64[2] = {0, UINT64_MAX};
    for (int i = 0; i < 12; i++) f32[i] = 0.25f * (float)i - 1;
    maf_h5_writer *w;
    CHECK_OK(maf_h5w_create(t->path, &w));
    assert_true(exists(tmp_name(t->path)) && !exists(t->path));
    CHECK_OK(maf_h5w_put_f32(w, "model/made0.w0", f32, 3, 4));
    CHECK_OK(maf_h5w_put_f64(w, "model/norm/mean", f64, 6, 1));
    CHECK_OK(maf_h5w_put_i32(w, "/a/b/c/ints", i32, 2, 2));
    CHECK_OK(maf_h5w_put_i64(w, "i64", i64, 1, 3));
    CHECK_OK(maf_h5w_put_u64(w, "rng/state", u64, 2, 1));
    CHECK_OK(maf_h5w_put_f64(w, "empty", NULL, 0, 3));
    CHECK_OK(maf_h5w_attr_str(w, "/", "config", "old"));
    CHECK_OK(maf_h5w_attr_str(w, "/", "config", UTF8_TEXT)); /* replaces */
    CHECK_OK(maf_h5w_attr_f64(w, "model/made0.w0", "scale", 0.125));
    CHECK_OK(maf_h5w_attr_i64(w, "model", "step", -1234567890123LL));
    expect_fail(maf_h5w_attr_f64(w, "nowhere", "x", 1), MAF_ERR_ARG, "nowhere", NULL, NULL);
    expect_fail(maf_h5w_put_f32(w, "model/made0.w0", f32, 3, 4), MAF_ERR_IO, "made0.w0", NULL,
                NULL); /* exists already */
    CHECK_OK(maf_h5w_commit(w));

    maf_h5_reader *r;
    CHECK_OK(maf_h5r_open(t->path, &r));
    assert_string_equal(maf_h5r_path(r), t->path);
    assert_true(maf_h5r_has(r, "/") && maf_h5r_has(r, "model") && maf_h5r_has(r, "a/b/c"));
    assert_true(maf_h5r_has(r, "model/made0.w0") && maf_h5r_has(r, "/model/norm/mean"));
    assert_false(maf_h5r_has(r, "model/nope") || maf_h5r_has(r, "nope/deeper/x"));
    size_t rows, cols;
    CHECK_OK(maf_h5r_shape(r, "model/made0.w0", &rows, &cols));
    assert_true(rows == 3 && cols == 4);
    CHECK_OK(maf_h5r_shape(r, "empty", &rows, &cols));
    assert_true(rows == 0 && cols == 3);

    float g32[12];
    double g64[12];
    int32_t h32[4];
    int64_t h64[4];
    uint64_t hu[2];
    CHECK_OK(maf_h5r_get_f32(r, "model/made0.w0", g32, 3, 4));
    assert_memory_equal(g32, f32, sizeof f32);
    CHECK_OK(maf_h5r_get_f64(r, "model/made0.w0", g64, 3, 4)); /* float -> double */
    for (int i = 0; i < 12; i++) assert_true(g64[i] == f32[i]);
    CHECK_OK(maf_h5r_get_f64(r, "model/norm/mean", g64, 6, 1));
    assert_memory_equal(g64, f64, sizeof f64);
    CHECK_OK(maf_h5r_get_f32(r, "model/norm/mean", g32, 6, 1)); /* double -> float */
    assert_true(g32[1] == -2.5f && g32[2] == (float)(3.0 / 7));
    CHECK_OK(maf_h5r_get_i32(r, "a/b/c/ints", h32, 2, 2));
    assert_memory_equal(h32, i32, sizeof i32);
    CHECK_OK(maf_h5r_get_i64(r, "i64", h64, 1, 3));
    assert_memory_equal(h64, i64, sizeof i64);
    CHECK_OK(maf_h5r_get_u64(r, "rng/state", hu, 2, 1));
    assert_memory_equal(hu, u64, sizeof u64);
    CHECK_OK(maf_h5r_get_f64(r, "empty", NULL, 0, 3));
    CHECK_OK(maf_h5r_get_i64(r, "a/b/c/ints", h64, 2, 2)); /* widening is fine */
    assert_true(h64[0] == INT32_MIN && h64[3] == INT32_MAX);
    /* values that do not fit are refused, not clipped; integers are not read as floats */
    expect_fail(maf_h5r_get_i32(r, "i64", h32, 1, 3), MAF_ERR_FORMAT, "'i64'", NULL, NULL);
    expect_fail(maf_h5r_get_u64(r, "i64", hu, 1, 3), MAF_ERR_FORMAT, "'i64'", NULL, NULL);
    expect_fail(maf_h5r_get_f64(r, "i64", g64, 1, 3), MAF_ERR_FORMAT, "floating", NULL, NULL);
    expect_fail(maf_h5r_get_i32(r, "model/made0.w0", h32, 3, 4), MAF_ERR_FORMAT, "integers", NULL,
                NULL);

    char *s;
    double d;
    int64_t k;
    CHECK_OK(maf_h5r_attr_str(r, "/", "config", &s));
    assert_string_equal(s, UTF8_TEXT);
    free(s);
    CHECK_OK(maf_h5r_attr_f64(r, "model/made0.w0", "scale", &d));
    assert_true(d == 0.125);
    CHECK_OK(maf_h5r_attr_i64(r, "model", "step", &k));
    assert_true(k == -1234567890123LL);
    CHECK_OK(maf_h5r_attr_f64(r, "model", "step", &d)); /* integer -> double */
    assert_true(d == -1234567890123.0);
    expect_fail(maf_h5r_attr_i64(r, "model/made0.w0", "scale", &k), MAF_ERR_FORMAT, "scale",
                "integer", NULL);
    expect_fail(maf_h5r_attr_str(r, "model", "step", &s), MAF_ERR_FORMAT, "step", "string", NULL);
    assert_null(s);
    maf_h5r_close(r);
    maf_h5r_close(NULL);
}

/* a fixed-length string attribute (as other tools may write) reads back as well */
static void test_fixed_length_string(void **state)
{
    tmp_state *t = *state;
    hid_t f = H5Fcreate(t->path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR);
    H5Tset_size(type, 5);
    H5Tset_strpad(type, H5T_STR_NULLPAD);
    hid_t a = H5Acreate2(f, "name", type, space, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0 && H5Awrite(a, type, "abcde") >= 0);
    H5Aclose(a);
    H5Sclose(space);
    H5Tclose(type);
    H5Fclose(f);
    maf_h5_reader *r;
    char *s;
    CHECK_OK(maf_h5r_open(t->path, &r));
    CHECK_OK(maf_h5r_attr_str(r, "/", "name", &s));
    assert_string_equal(s, "abcde");
    free(s);
    maf_h5r_close(r);
}

static void test_commit_and_abort_leave_no_tmp(void **state)
{
    tmp_state *t = *state;
    write_sample(t->path, 1);
    assert_true(exists(t->path));
    assert_false(exists(tmp_name(t->path)));
    /* abort: temporary gone, old file untouched */
    maf_h5_writer *w;
    CHECK_OK(maf_h5w_create(t->path, &w));
    CHECK_OK(maf_h5w_put_f64(w, "x", (double[]){1}, 1, 1));
    maf_h5w_abort(w);
    maf_h5w_abort(NULL);
    assert_false(exists(tmp_name(t->path)));
    maf_h5_reader *r;
    CHECK_OK(maf_h5r_open(t->path, &r));
    assert_true(maf_h5r_has(r, "model/made0.w0") && !maf_h5r_has(r, "x"));
    maf_h5r_close(r);
    /* a folder that does not exist */
    char bad[200];
    snprintf(bad, sizeof bad, "%s/no/such/dir/f.h5", t->dir);
    expect_fail(maf_h5w_create(bad, &w), MAF_ERR_IO, bad, NULL, NULL);
    assert_null(w);
}

static void test_reader_missing_file(void **state)
{
    tmp_state *t = *state;
    maf_h5_reader *r;
    expect_fail(maf_h5r_open(t->path, &r), MAF_ERR_IO, t->path, NULL, NULL);
    assert_null(r);
}

/* a file another process holds open for writing (HDF5 locks it) */
static void test_reader_locked_file(void **state)
{
    tmp_state *t = *state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        hid_t f = H5Fcreate(t->path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        if (f < 0 || H5Fflush(f, H5F_SCOPE_GLOBAL) < 0 || write(p[1], "x", 1) != 1) _exit(3);
        for (;;) pause();
    }
    close(p[1]);
    char c;
    assert_int_equal(read(p[0], &c, 1), 1);
    close(p[0]);
    maf_h5_reader *r;
    maf_status st = maf_h5r_open(t->path, &r);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    expect_fail(st, MAF_ERR_IO, t->path, "open for writing", NULL);
}

static void test_reader_truncated_file(void **state)
{
    tmp_state *t = *state;
    maf_h5_writer *w;
    double big[1000];
    for (int i = 0; i < 1000; i++) big[i] = i;
    CHECK_OK(maf_h5w_create(t->path, &w));
    CHECK_OK(maf_h5w_put_f64(w, "big", big, 100, 10));
    CHECK_OK(maf_h5w_attr_str(w, "/", "config", "x"));
    CHECK_OK(maf_h5w_commit(w));
    struct stat sb;
    assert_int_equal(stat(t->path, &sb), 0);
    assert_int_equal(truncate(t->path, sb.st_size / 2), 0);
    maf_h5_reader *r;
    expect_fail(maf_h5r_open(t->path, &r), MAF_ERR_FORMAT, t->path, "truncated", NULL);
    assert_null(r);
}

static void test_reader_text_file(void **state)
{
    tmp_state *t = *state;
    FILE *f = fopen(t->path, "w");
    assert_non_null(f);
    for (int i = 0; i < 100; i++) fprintf(f, "this is a text file, line %d\n", i);
    fclose(f);
    maf_h5_reader *r;
    expect_fail(maf_h5r_open(t->path, &r), MAF_ERR_FORMAT, t->path, "not an HDF5 file", NULL);
    /* an empty file too */
    f = fopen(t->path, "w");
    fclose(f);
    expect_fail(maf_h5r_open(t->path, &r), MAF_ERR_FORMAT, t->path, NULL, NULL);
}

static void test_reader_missing_objects(void **state)
{
    tmp_state *t = *state;
    write_sample(t->path, 1);
    maf_h5_reader *r;
    float x[12];
    size_t rows, cols;
    double d;
    char *s;
    CHECK_OK(maf_h5r_open(t->path, &r));
    expect_fail(maf_h5r_get_f32(r, "model/made1.w0", x, 3, 4), MAF_ERR_FORMAT, t->path,
                "'model/made1.w0'", NULL);
    expect_fail(maf_h5r_shape(r, "nope/deep", &rows, &cols), MAF_ERR_FORMAT, t->path, "'nope/deep'",
                NULL);
    expect_fail(maf_h5r_shape(r, "model", &rows, &cols), MAF_ERR_FORMAT, t->path, "'model'",
                NULL); /* a group */
    expect_fail(maf_h5r_attr_f64(r, "/", "test_loglik", &d), MAF_ERR_FORMAT, t->path,
                "'test_loglik'", NULL);
    expect_fail(maf_h5r_attr_str(r, "nope", "config", &s), MAF_ERR_FORMAT, t->path, "'config'",
                "'nope'");
    maf_h5r_close(r);
}

static void test_reader_wrong_shape(void **state)
{
    tmp_state *t = *state;
    write_sample(t->path, 1);
    maf_h5_reader *r;
    float x[20];
    CHECK_OK(maf_h5r_open(t->path, &r));
    expect_fail(maf_h5r_get_f32(r, "model/made0.w0", x, 5, 4), MAF_ERR_FORMAT, t->path,
                "dataset 'model/made0.w0' is 3 x 4, expected 5 x 4", NULL);
    expect_fail(maf_h5r_get_f32(r, "model/made0.w0", x, 4, 3), MAF_ERR_FORMAT, t->path,
                "is 3 x 4, expected 4 x 3", NULL);
    maf_h5r_close(r);
}

/* a child writes a new version and dies before commit (SIGKILL, or _exit): the old file stays */
static void test_crash_before_commit(void **state)
{
    tmp_state *t = *state;
    write_sample(t->path, 1);
    for (int how = 0; how < 2; how++) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            maf_h5_writer *w;
            float y[100] = {0};
            if (maf_h5w_create(t->path, &w) != MAF_OK) _exit(3);
            if (maf_h5w_put_f32(w, "model/made0.w0", y, 25, 4) != MAF_OK) _exit(3);
            if (how == 0) raise(SIGKILL);
            _exit(0);
        }
        int ws;
        assert_int_equal(waitpid(pid, &ws, 0), pid);
        assert_true(how == 0 ? WIFSIGNALED(ws) : WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
        assert_true(exists(tmp_name(t->path))); /* the child got as far as the temporary */
        maf_h5_reader *r;
        float x[12];
        CHECK_OK(maf_h5r_open(t->path, &r));
        CHECK_OK(maf_h5r_get_f32(r, "model/made0.w0", x, 3, 4));
        for (int i = 0; i < 12; i++) assert_true(x[i] == (float)i - 0.5f);
        maf_h5r_close(r);
    }
    /* the stale temporary does not stop the next writer */
    write_sample(t->path, 2);
    assert_false(exists(tmp_name(t->path)));
    maf_h5_reader *r;
    float x[12];
    CHECK_OK(maf_h5r_open(t->path, &r));
    CHECK_OK(maf_h5r_get_f32(r, "model/made0.w0", x, 3, 4));
    assert_true(x[3] == 5.5f);
    maf_h5r_close(r);
}

static maf_eval_row make_row(int64_t step, double tag)
{
    maf_eval_row r = {step, step / 10, 1.5 + tag, -2.25 * (double)step,     0.5,
                      1e-3, 1234.5,    0.125,     (double)step * 0.01 + tag};
    return r;
}

static maf_status append_row(maf_evallog *log, int64_t step, double tag)
{
    maf_eval_row row = make_row(step, tag);
    return maf_evallog_append(log, &row);
}

static void check_row(const maf_eval_row *got, int64_t step, double tag)
{
    maf_eval_row want = make_row(step, tag);
    if (memcmp(got, &want, sizeof want))
        fail_msg("row of step %lld differs (step %lld, train_loss %g)", (long long)step,
                 (long long)got->step, got->train_loss);
}

static void test_evallog_round_trip(void **state)
{
    tmp_state *t = *state;
    maf_evallog *log;
    CHECK_OK(maf_evallog_open(t->path, UTF8_TEXT, -1, &log));
    maf_eval_row *rows;
    size_t n;
    CHECK_OK(maf_evallog_read(t->path, &rows, &n)); /* readable at once, while open */
    assert_int_equal(n, 0);
    assert_null(rows);
    for (int i = 0; i < 150; i++) {
        maf_eval_row row = make_row(i * 10, 0);
        CHECK_OK(maf_evallog_append(log, &row));
    }
    CHECK_OK(maf_evallog_set_attr_f64(log, "test_loglik", -1.25));
    CHECK_OK(maf_evallog_set_attr_f64(log, "test_loglik_2se", 0.5));
    CHECK_OK(maf_evallog_set_attr_f64(log, "test_loglik", -1.5)); /* replaces */
    expect_fail(maf_evallog_set_attr_f64(log, "config", 1), MAF_ERR_ARG, "config", NULL, NULL);
    CHECK_OK(maf_evallog_close(log));
    CHECK_OK(maf_evallog_close(NULL));
    assert_false(exists(tmp_name(t->path)));
    CHECK_OK(maf_evallog_read(t->path, &rows, &n));
    assert_int_equal(n, 150);
    for (int i = 0; i < 150; i++) check_row(&rows[i], i * 10, 0);
    free(rows);
    maf_h5_reader *r;
    char *s;
    double d;
    CHECK_OK(maf_h5r_open(t->path, &r));
    CHECK_OK(maf_h5r_attr_str(r, "/", "config", &s));
    assert_string_equal(s, UTF8_TEXT);
    free(s);
    CHECK_OK(maf_h5r_attr_f64(r, "/", "test_loglik", &d));
    assert_true(d == -1.5);
    CHECK_OK(maf_h5r_attr_f64(r, "/", "test_loglik_2se", &d));
    assert_true(d == 0.5);
    maf_h5r_close(r);
    /* not a log */
    write_sample(t->path, 1);
    expect_fail(maf_evallog_read(t->path, &rows, &n), MAF_ERR_FORMAT, t->path, "'log'", NULL);
}

static void test_evallog_resume(void **state)
{
    tmp_state *t = *state;
    maf_evallog *log;
    maf_eval_row *rows;
    size_t n;
    CHECK_OK(maf_evallog_open(t->path, "first", -1, &log));
    for (int i = 0; i < 5; i++) CHECK_OK(append_row(log, i * 10, 0));
    CHECK_OK(maf_evallog_set_attr_f64(log, "test_loglik", 3));
    CHECK_OK(maf_evallog_close(log));
    CHECK_OK(maf_evallog_read(t->path, &rows, &n));
    assert_int_equal(n, 5);
    free(rows);
    /* resume from the checkpoint of step 20: the rows of steps 30 and 40 go */
    CHECK_OK(maf_evallog_open(t->path, NULL, 20, &log));
    CHECK_OK(maf_evallog_read(t->path, &rows, &n)); /* dropped on disk at open already */
    assert_int_equal(n, 3);
    free(rows);
    CHECK_OK(append_row(log, 30, 7));
    CHECK_OK(maf_evallog_close(log));
    CHECK_OK(maf_evallog_read(t->path, &rows, &n));
    assert_int_equal(n, 4);
    for (int i = 0; i < 3; i++) check_row(&rows[i], i * 10, 0);
    check_row(&rows[3], 30, 7);
    free(rows);
    maf_h5_reader *r;
    char *s;
    double d;
    CHECK_OK(maf_h5r_open(t->path, &r));
    CHECK_OK(maf_h5r_attr_str(r, "/", "config", &s)); /* kept: no new config given */
    assert_string_equal(s, "first");
    free(s);
    expect_fail(maf_h5r_attr_f64(r, "/", "test_loglik", &d), MAF_ERR_FORMAT, "test_loglik", NULL,
                NULL); /* the finished run's result is dropped */
    maf_h5r_close(r);
    /* resume with a new config, keeping nothing after step 0 */
    CHECK_OK(maf_evallog_open(t->path, "second", 0, &log));
    CHECK_OK(maf_evallog_close(log));
    CHECK_OK(maf_evallog_read(t->path, &rows, &n));
    assert_int_equal(n, 1);
    check_row(&rows[0], 0, 0);
    free(rows);
    CHECK_OK(maf_h5r_open(t->path, &r));
    CHECK_OK(maf_h5r_attr_str(r, "/", "config", &s));
    assert_string_equal(s, "second");
    free(s);
    maf_h5r_close(r);
    /* a new run replaces the log */
    CHECK_OK(maf_evallog_open(t->path, "third", -1, &log));
    CHECK_OK(maf_evallog_close(log));
    CHECK_OK(maf_evallog_read(t->path, &rows, &n));
    assert_int_equal(n, 0);
    /* resuming without a log starts a new one */
    assert_int_equal(unlink(t->path), 0);
    CHECK_OK(maf_evallog_open(t->path, "fourth", 100, &log));
    CHECK_OK(append_row(log, 110, 0));
    CHECK_OK(maf_evallog_close(log));
    CHECK_OK(maf_evallog_read(t->path, &rows, &n));
    assert_int_equal(n, 1);
    check_row(&rows[0], 110, 0);
    free(rows);
    /* a corrupt log is reported, not replaced */
    assert_int_equal(truncate(t->path, 100), 0);
    expect_fail(maf_evallog_open(t->path, NULL, 5, &log), MAF_ERR_FORMAT, t->path, NULL, NULL);
    assert_null(log);
}

/* the child resumes the log at step 1 and appends rows 2, 3, ... forever, writing to the pipe
 * after each call returns how many rows it has appended (0 once open returned) */
static void append_forever(const char *path, int fd)
{
    maf_evallog *log;
    if (maf_evallog_open(path, "child", 1, &log) != MAF_OK) _exit(3);
    for (int64_t k = 0;; k++) {
        if (write(fd, &k, sizeof k) != sizeof k) _exit(4);
        if (append_row(log, k + 2, 1) != MAF_OK) _exit(5);
    }
}

static void test_evallog_survives_sigkill(void **state)
{
    tmp_state *t = *state;
    const int trials = 24;
    int with_rows = 0;
    srand(12345);
    for (int trial = 0; trial < trials; trial++) {
        /* the parent's log: steps 0, 1, 2 (the child's resume drops step 2 and rewrites it) */
        maf_evallog *log;
        CHECK_OK(maf_evallog_open(t->path, "parent", -1, &log));
        for (int s = 0; s < 3; s++) CHECK_OK(append_row(log, s, 0));
        CHECK_OK(maf_evallog_close(log));
        int p[2];
        assert_int_equal(pipe(p), 0);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            append_forever(t->path, p[1]);
        }
        close(p[1]);
        /* the first trials kill during the child's open; the others once the child has
         * appended 1 to ~60 rows, plus a random delay of up to 3 ms (about 3 appends here), so
         * the kill lands at varied moments of an append whatever the speed (also in valgrind) */
        int64_t k, done = -1;
        long wait_rows = trial < 4 ? -1 : 1 + (trial - 4) * 3;
        long us = trial < 4 ? trial * 300L : rand() % 3000;
        while (done < wait_rows && read(p[0], &k, sizeof k) == sizeof k) done = k;
        struct timespec ts = {0, us * 1000};
        nanosleep(&ts, NULL);
        assert_int_equal(kill(pid, SIGKILL), 0);
        int ws;
        assert_int_equal(waitpid(pid, &ws, 0), pid);
        if (!WIFSIGNALED(ws)) fail_msg("trial %d: child exited with %d", trial, WEXITSTATUS(ws));
        while (read(p[0], &k, sizeof k) == sizeof k) done = k;
        close(p[0]);
        maf_eval_row *rows;
        size_t n;
        maf_status st = maf_evallog_read(t->path, &rows, &n);
        if (st != MAF_OK)
            fail_msg("trial %d (%ld us, %lld appended): %s", trial, us, (long long)done,
                     maf_last_error());
        /* steps 0, 1, then 2, 3, ... with no gap; every reported row is there */
        size_t want = done < 0 ? 2 : 2 + (size_t)done;
        if (n < want)
            fail_msg("trial %d: %zu rows on disk, child appended %lld", trial, n, (long long)done);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(rows[i].step, (int64_t)i);
            if (i < 2) check_row(&rows[i], (int64_t)i, 0);
            if (i >= 3 || (i == 2 && done >= 0)) check_row(&rows[i], (int64_t)i, 1);
        }
        free(rows);
        with_rows += done > 0;
        print_message("trial %2d: killed %4ld us after row %2ld: %3lld appended, %3zu on disk\n",
                      trial, us, wait_rows, (long long)done, n);
    }
    assert_true(with_rows >= trials / 2); /* most kills came after appends, not before */
}

/* rows and attributes are on disk when the calls return: nothing is lost without close */
static void test_evallog_attr_durable(void **state)
{
    tmp_state *t = *state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        maf_evallog *log;
        char ok = 1;
        if (maf_evallog_open(t->path, "cfg", -1, &log) != MAF_OK) _exit(3);
        if (append_row(log, 7, 0) != MAF_OK) _exit(3);
        if (maf_evallog_set_attr_f64(log, "test_loglik", -3.75) != MAF_OK) _exit(3);
        if (maf_evallog_set_attr_f64(log, "test_loglik_2se", 0.01) != MAF_OK) _exit(3);
        if (write(p[1], &ok, 1) != 1) _exit(4);
        for (;;) pause();
    }
    close(p[1]);
    char ok = 0;
    assert_int_equal(read(p[0], &ok, 1), 1);
    close(p[0]);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    maf_h5_reader *r;
    double d;
    CHECK_OK(maf_h5r_open(t->path, &r));
    CHECK_OK(maf_h5r_attr_f64(r, "/", "test_loglik", &d));
    assert_true(d == -3.75);
    CHECK_OK(maf_h5r_attr_f64(r, "/", "test_loglik_2se", &d));
    assert_true(d == 0.01);
    maf_h5r_close(r);
    maf_eval_row *rows;
    size_t n;
    CHECK_OK(maf_evallog_read(t->path, &rows, &n));
    assert_int_equal(n, 1);
    check_row(&rows[0], 7, 0);
    free(rows);
}

#define T(f) cmocka_unit_test_setup_teardown(f, make_dir, remove_dir)
int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_writer_round_trip),
        T(test_fixed_length_string),
        T(test_commit_and_abort_leave_no_tmp),
        T(test_reader_missing_file),
        T(test_reader_locked_file),
        T(test_reader_truncated_file),
        T(test_reader_text_file),
        T(test_reader_missing_objects),
        T(test_reader_wrong_shape),
        T(test_crash_before_commit),
        T(test_evallog_round_trip),
        T(test_evallog_resume),
        T(test_evallog_survives_sigkill),
        T(test_evallog_attr_durable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
