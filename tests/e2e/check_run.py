#!/usr/bin/python3
"""check_run.py - check a finished `maf train` run against an independent NumPy evaluation of its
files (scripts/maf_model.py: the documented format and maths, no code shared with libmaf).

  check_run.py first-step RUN_DIR DATA.h5   a full-batch run of exactly one step: the gradient
      the trainer applied (Adam's first moment / (1 - beta1)) equals the finite-difference
      gradient of the mean NLL over the whole training split (train-mode batch norm over all
      rows) plus weight_decay * theta0, and the logged gradient norm is its norm.
  check_run.py report RUN_DIR DATA.h5       the reported figures of a finished run: the
      standardisation, best.h5's batch-norm statistics, the best validation score, and the
      test log-likelihood, its 2 s.e., median and worst row, each recomputed from the files.

  check_run.py same-log RUN_A RUN_B          the two runs' log.h5 rows are identical (bitwise)
      in step, epoch, train_loss, val_loglik, grad_norm and lr (a resumed run vs an
      uninterrupted one on the same machine).

first-step and report also check the standardisation (data/mean, data/std, log_jacobian) against NumPy's over
the training split. Prints one line per check; exits 1 on the first failure.
"""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from maf_model import MafModel  # noqa: E402

BETA1, BETA2, ADAM_EPS = 0.9, 0.999, 1e-8


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def ok(msg):
    print(f"ok   {msg}")


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def read_split(path, name):
    with h5py.File(path, "r") as f:
        return np.array(f[name], dtype=np.float64)


def read_log(run):
    with h5py.File(os.path.join(run, "log.h5"), "r") as f:
        return np.array(f["log"]), {k: f.attrs[k] for k in f.attrs.keys()}


def check_standardization(model, train):
    mean, std = train.mean(0), train.std(0)  # population std, as documented
    e_mean = np.max(np.abs(model.mean - mean) / std)
    e_std = np.max(np.abs(model.std / std - 1))
    if e_mean > 1e-9 or e_std > 1e-9:
        fail(f"standardisation: data/mean off by {e_mean:.3g} std, data/std by a relative "
             f"{e_std:.3g} from NumPy's over all {len(train)} training rows")
    lj = -np.log(std).sum()
    if abs(model.log_jacobian - lj) > 1e-9 * max(1.0, abs(lj)):
        fail(f"log_jacobian {model.log_jacobian!r} != -sum(log std) = {lj!r}")
    ok(f"standardisation = NumPy's over all {len(train)} training rows "
       f"(mean {e_mean:.2g} std, std {e_std:.2g} relative); log_jacobian {lj:.4f}")


def flat(model, params, names):
    return np.concatenate([params[n].ravel() for n in names])


def first_step(run, data):
    latest = os.path.join(run, "latest.h5")
    m1 = MafModel(latest)
    train = read_split(data, "train")
    check_standardization(m1, train)
    if int(m1.attrs["step"]) != 1 or int(m1.attrs["adam_steps"]) != 1:
        fail(f"{latest}: step {m1.attrs['step']}, expected exactly one step")
    lr = float(m1.config_value("train", "lr"))
    wd = float(m1.config_value("train", "weight_decay"))
    clip = float(m1.config_value("train", "clip_norm"))
    batch = int(m1.config_value("train", "batch_size"))
    if clip != 0 or batch != len(train):
        fail(f"first-step check needs clip_norm 0 and batch_size = {len(train)} training rows")
    names = m1.tensor_names()
    with h5py.File(latest, "r") as f:
        mom = {n: np.array(f[f"adam/m/{n}"], dtype=np.float64) for n in names}
        vel = {n: np.array(f[f"adam/v/{n}"], dtype=np.float64) for n in names}
    # undo the one Adam step: theta1 = theta0 - lr * mhat / (sqrt(vhat) + eps)
    theta0 = {n: m1.params[n] + lr * (mom[n] / (1 - BETA1)) /
              (np.sqrt(vel[n] / (1 - BETA2)) + ADAM_EPS) for n in names}
    g_applied = {n: mom[n] / (1 - BETA1) for n in names}
    # masked weights: exactly zero in the parameters and in the gradient
    trainable = {n: np.ones_like(m1.params[n], dtype=bool) for n in names}
    for k in range(m1.K):
        for l, mask in enumerate(m1.masks(k)):
            n = f"made{k}.w{l}" if l < m1.L else f"made{k}.w_out"
            off = mask == 0
            if np.any(m1.params[n][off] != 0) or np.any(mom[n][off] != 0):
                fail(f"{n}: a masked weight or its gradient is not exactly zero")
            trainable[n] = ~off
    z = m1.standardize(train)

    def loss(p):
        u, logdet, _ = m1.forward(z, p, bn="batch")
        return -np.mean((-0.5 * u ** 2 - 0.5 * np.log(2 * np.pi)).sum(1) + logdet)

    p = {n: v.copy() for n, v in theta0.items()}
    g_ref, g_got = [], []
    for n in names:
        for idx in zip(*np.nonzero(trainable[n])):
            x0 = p[n][idx]
            h = 1e-6 * max(1.0, abs(x0))
            p[n][idx] = x0 + h
            lp = loss(p)
            p[n][idx] = x0 - h
            lm = loss(p)
            p[n][idx] = x0
            g_ref.append((lp - lm) / (2 * h) + wd * x0)
            g_got.append(g_applied[n][idx])
    g_ref, g_got = np.array(g_ref), np.array(g_got)
    err = np.linalg.norm(g_got - g_ref) / np.linalg.norm(g_ref)
    if err > 2e-5:
        worst = np.argsort(-np.abs(g_got - g_ref))[:5]
        fail(f"the applied gradient differs from the full-batch reference by a relative {err:.3g} "
             f"(norm {np.linalg.norm(g_got):.6g} vs {np.linalg.norm(g_ref):.6g}; worst entries "
             f"{list(zip(g_got[worst], g_ref[worst]))})")
    ok(f"step 1 applied the full-batch gradient of mean NLL + {wd:g}/2 |theta|^2 over all "
       f"{len(train)} rows: relative difference {err:.2g} over {len(g_ref)} trainable entries "
       f"(finite differences of the NumPy model)")
    rows, _ = read_log(run)
    tl, tl_ref = float(rows["train_loss"][-1]), loss(theta0) - m1.log_jacobian
    if abs(tl - tl_ref) > 2e-5 + 1e-6 * abs(tl_ref):
        fail(f"log.h5 train_loss {tl:.8g} != the mean NLL of the step's batch (data units) {tl_ref:.8g}")
    ok(f"log.h5 train_loss {tl:.6f} = the mean NLL over all {len(train)} rows before the step")
    gn = float(rows["grad_norm"][-1])
    if rel(gn, np.linalg.norm(g_ref)) > 2e-4:
        fail(f"log.h5 grad_norm {gn:.8g} != norm of the applied gradient {np.linalg.norm(g_ref):.8g}")
    ok(f"log.h5 grad_norm {gn:.6g} = the applied gradient's norm")


def report(run, data):
    best = MafModel(os.path.join(run, "best.h5"))
    last = MafModel(os.path.join(run, "latest.h5"))
    train, val, test = (read_split(data, s) for s in ("train", "val", "test"))
    check_standardization(best, train)
    if best.batch_norm:
        stats = best.bn_stats(train)
        e = max(np.max(np.abs(mu - best.bn_mean[k]) / np.sqrt(var)) for k, (mu, var) in enumerate(stats))
        e = max(e, max(np.max(np.abs(var / best.bn_var[k] - 1)) for k, (mu, var) in enumerate(stats)))
        if e > 1e-4:
            fail(f"best.h5's batch-norm statistics differ from the whole training set's by {e:.3g}")
        ok(f"best.h5's batch-norm statistics = the whole training split's through the flow ({e:.2g})")
    rows, attrs = read_log(run)
    # the best validation score logged is the eval-mode score of best.h5 on the validation split
    v_ref = best.log_prob(val).mean()
    v_log = float(np.max(rows["val_loglik"]))
    if abs(v_log - v_ref) > 2e-5 + 1e-6 * abs(v_ref):
        fail(f"best validation in log.h5 {v_log:.8g} != best.h5 evaluated on val {v_ref:.8g}")
    if abs(float(last.attrs["best_val"]) - v_ref) > 2e-5 + 1e-6 * abs(v_ref):
        fail(f"latest.h5 best_val {float(last.attrs['best_val']):.8g} != {v_ref:.8g}")
    ok(f"best validation {v_log:.6f} (log.h5 and latest.h5) = best.h5 on val {v_ref:.6f}")
    # early stopping: the run ends exactly `patience` evaluations after the best one
    patience = int(best.config_value("train", "patience"))
    after = len(rows) - 1 - int(np.argmax(rows["val_loglik"]))
    if after != patience:
        fail(f"the run ended {after} evaluations after the best, [train] patience = {patience}")
    ok(f"ended {after} evaluation(s) after the best one = [train] patience")
    # the test report is best.h5's, and differs measurably from the last model's
    lp = best.log_prob(test)
    n = len(lp)
    ref = {"test_loglik": lp.mean(),
           "test_loglik_2se": 2 * lp.std(ddof=1) / np.sqrt(n) if n > 1 else float("nan"),
           "test_median": float(np.median(lp)), "test_worst": lp.min()}
    for key, want in ref.items():
        got = float(attrs[key])
        tol = 2e-5 + 1e-6 * abs(want) if key != "test_loglik_2se" else 1e-5 * want
        if not abs(got - want) <= tol:
            fail(f"log.h5 {key} = {got:.8g}, best.h5 evaluated on the {n} test rows gives {want:.8g}")
    lp_last = last.log_prob(test).mean()
    sep = abs(lp_last - ref["test_loglik"])
    if sep < 5e-4:
        fail(f"the last and best models score alike on test ({sep:.2g} nats): the run cannot show "
             f"that the best one is reported (use a run that ends by early stopping)")
    # the reader's inverse (the documented sampling recipe) undoes its forward pass
    u, _, _ = best.forward(best.standardize(test[:50]))
    back = best.inverse(u)
    e_inv = np.max(np.abs(back - test[:50]) / best.std)
    if e_inv > 1e-8:
        fail(f"maf_model.py: inverse(forward(x)) differs from x by {e_inv:.3g} std")
    ok(f"maf_model.py: inverse(forward(x)) = x on 50 test rows ({e_inv:.2g} std)")
    ok(f"test {ref['test_loglik']:.6f} +- {ref['test_loglik_2se']:.4f} (2 s.e. = 2 sd/sqrt({n})), "
       f"median {ref['test_median']:.4f}, worst {ref['test_worst']:.4f}: all = best.h5 evaluated "
       f"in NumPy; the last model scores {lp_last:.6f}")


def same_log(a, b):
    """Two runs' logs agree row for row in every field that does not measure time."""
    ra, rb = read_log(a)[0], read_log(b)[0]
    fields = ("step", "epoch", "train_loss", "val_loglik", "grad_norm", "lr")
    if len(ra) != len(rb):
        fail(f"{a}/log.h5 has {len(ra)} rows, {b}/log.h5 {len(rb)} (steps {list(ra['step'])} vs "
             f"{list(rb['step'])})")
    for f in fields:
        if not np.array_equal(ra[f], rb[f]):
            i = int(np.nonzero(ra[f] != rb[f])[0][0])
            fail(f"log.h5 row {i} ({f}): {ra[f][i]!r} vs {rb[f][i]!r}")
    ok(f"log.h5: {len(ra)} rows identical in {', '.join(fields)}")


def main():
    cmds = {"first-step": first_step, "report": report, "same-log": same_log}
    if len(sys.argv) != 4 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()
