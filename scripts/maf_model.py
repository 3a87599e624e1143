#!/usr/bin/python3
"""maf_model.py - read a maf checkpoint (best.h5 / latest.h5) with NumPy + h5py only, and
compute what the C library computes, in float64, exactly as include/maf/checkpoint.h documents:
log p(x) in the units of the data, the batch-norm statistics of a data set, samples.

It is an independent implementation of the documented file format and maths (it shares no
code with libmaf), so the tests use it as a reference for the trainer's reported figures.

    from maf_model import MafModel
    m = MafModel("runs/a/best.h5")            # group "model" (latest.h5 also has "best")
    lp = m.log_prob(x)                        # x: (n, D) in data units -> (n,) float64
    x = m.sample(1000, np.random.default_rng(0))

Command line:  maf_model.py MODEL.h5 DATA.h5 [DATASET]   prints the mean log p of a split.
"""
import re
import sys

import h5py
import numpy as np

BN_EPS = 1e-5
LOG2PI = np.log(2.0 * np.pi)


def _str(v):
    return v.decode() if isinstance(v, bytes) else str(v)


class MafModel:
    """A MAF read from a checkpoint: K MADE blocks, each followed by batch norm (if on)."""

    def __init__(self, path, group="model"):
        with h5py.File(path, "r") as f:
            a = f.attrs
            if _str(a.get("format", "")) != "maf-checkpoint":
                raise ValueError(f"{path}: not a maf checkpoint (attribute format)")
            self.path = path
            self.D = int(a["dim"])
            self.K = int(a["blocks"])
            self.H = int(a["hidden"])
            self.L = int(a["layers"])
            self.activation = _str(a["activation"])
            self.batch_norm = bool(int(a["batch_norm"]))
            self.c = float(a["log_scale_bound"])
            self.config = _str(a.get("config", ""))
            self.log_jacobian = float(a["log_jacobian"])
            self.attrs = {k: a[k] for k in a.keys()}
            g = f[group]
            self.params = {name: np.array(g[name], dtype=np.float64) for name in g.keys()
                           if not name.endswith((".mean", ".var"))}
            # eval statistics: <group>/bn{k}.mean|var (the model group holds them too)
            self.bn_mean = [np.array(g[f"bn{k}.mean"], dtype=np.float64).ravel()
                            for k in range(self.K)] if self.batch_norm else []
            self.bn_var = [np.array(g[f"bn{k}.var"], dtype=np.float64).ravel()
                           for k in range(self.K)] if self.batch_norm else []
            m = f["model"]
            self.deg_in = [np.array(m[f"made{k}.input_degrees"]).ravel() for k in range(self.K)]
            self.deg_h = [np.array(m[f"made{k}.hidden_degrees"]) for k in range(self.K)]
            self.mean = np.array(f["data/mean"], dtype=np.float64).ravel()
            self.std = np.array(f["data/std"], dtype=np.float64).ravel()

    # ---- structure
    def tensor_names(self):
        """Parameter tensors in the library's layout order."""
        names = []
        for k in range(self.K):
            for l in range(self.L):
                names += [f"made{k}.w{l}", f"made{k}.b{l}"]
            names += [f"made{k}.w_out", f"made{k}.b_out"]
            if self.batch_norm:
                names += [f"bn{k}.log_gamma", f"bn{k}.beta"]
        return names

    def masks(self, k):
        """Block k's masks from the stored degrees: L hidden masks, then the output mask."""
        ms, prev = [], self.deg_in[k]
        for l in range(self.L):
            dh = self.deg_h[k][l]
            ms.append((prev[:, None] <= dh[None, :]).astype(np.float64))
            prev = dh
        din2 = np.concatenate([self.deg_in[k], self.deg_in[k]])
        ms.append((prev[:, None] < din2[None, :]).astype(np.float64))
        return ms

    def config_value(self, section, key, default=None):
        """A value of the stored resolved config text."""
        cur = None
        for line in self.config.splitlines():
            line = line.strip()
            m = re.match(r"\[(\w+)\]", line)
            if m:
                cur = m.group(1)
            elif cur == section and "=" in line:
                k, v = (s.strip() for s in line.split("=", 1))
                if k == key:
                    return v
        return default

    # ---- passes
    def _act(self, h):
        return np.tanh(h) if self.activation == "tanh" else np.maximum(h, 0.0)

    def _made(self, p, k, z):
        h = z
        for l in range(self.L):
            h = self._act(h @ p[f"made{k}.w{l}"] + p[f"made{k}.b{l}"].ravel())
        o = h @ p[f"made{k}.w_out"] + p[f"made{k}.b_out"].ravel()
        m, a = o[:, :self.D], o[:, self.D:]
        alpha = self.c * np.tanh(a / self.c) if self.c > 0 else a
        return m, alpha

    def forward(self, z, params=None, bn="eval"):
        """Standardised z -> (u, log-det per row). bn: "eval" uses the stored statistics,
        "batch" the statistics of z's own rows (train mode); returns the statistics used."""
        p = self.params if params is None else params
        logdet = np.zeros(z.shape[0])
        stats = []
        for k in range(self.K):
            m, alpha = self._made(p, k, z)
            z = (z - m) * np.exp(-alpha)
            logdet -= alpha.sum(1)
            if self.batch_norm:
                if bn == "batch":
                    mu, var = z.mean(0), z.var(0)  # biased, as the library
                else:
                    mu, var = self.bn_mean[k], self.bn_var[k]
                stats.append((mu, var))
                lg, beta = p[f"bn{k}.log_gamma"].ravel(), p[f"bn{k}.beta"].ravel()
                z = np.exp(lg) * (z - mu) / np.sqrt(var + BN_EPS) + beta
                logdet += (lg - 0.5 * np.log(var + BN_EPS)).sum()
        return z, logdet, stats

    def standardize(self, x):
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.std

    def log_prob(self, x, params=None, bn="eval"):
        """log p(x) per row, in the units of the data (standardisation log-Jacobian included)."""
        u, logdet, _ = self.forward(self.standardize(x), params, bn)
        return (-0.5 * u ** 2 - 0.5 * LOG2PI).sum(1) + logdet + self.log_jacobian

    def bn_stats(self, x, params=None):
        """The paper's eval statistics: every batch-norm layer's mean and biased variance over
        the rows x (data units), each layer seeing the earlier layers normalised the same way."""
        return self.forward(self.standardize(x), params, bn="batch")[2]

    def inverse(self, u):
        """u -> x in data units: per block, invert batch norm, then D passes of the MADE."""
        z = np.array(u, dtype=np.float64)
        for k in reversed(range(self.K)):
            if self.batch_norm:
                lg, beta = self.params[f"bn{k}.log_gamma"].ravel(), self.params[f"bn{k}.beta"].ravel()
                z = (z - beta) * np.exp(-lg) * np.sqrt(self.bn_var[k] + BN_EPS) + self.bn_mean[k]
            x = np.zeros_like(z)
            for _ in range(self.D):  # x_i depends on earlier inputs only: exact after D passes
                m, alpha = self._made(self.params, k, x)
                x = z * np.exp(alpha) + m
            z = x
        return z * self.std + self.mean

    def sample(self, n, rng):
        return self.inverse(rng.standard_normal((n, self.D)))


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    model = MafModel(sys.argv[1])
    with h5py.File(sys.argv[2], "r") as f:
        x = np.array(f[sys.argv[3] if len(sys.argv) == 4 else "test"], dtype=np.float64)
    lp = model.log_prob(x)
    se2 = 2 * lp.std(ddof=1) / np.sqrt(len(lp)) if len(lp) > 1 else float("nan")
    print(f"{lp.mean():.10g} +- {se2:.3g} ({len(lp)} rows)")


if __name__ == "__main__":
    main()
