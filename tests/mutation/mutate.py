#!/usr/bin/python3
"""mutate.py - measure the test suite's strength: apply one-line defects (mutants.txt) one at a
time to a scratch copy of the project, rebuild, run the suite, and report which tests fail for
each (killed) or that none does (survived).

  tests/mutation/mutate.py [--only M01,M05] [--exclude-labels REGEX] [--jobs N] [--keep]

The scratch copy is the working tree (git's tracked and untracked, not ignored, files) in a
temporary folder, so the project itself is never modified. First the unmutated suite must pass;
its run time is reported. Default: every test except the memcheck, sanitize, slurm and fuzz labels
(valgrind and ASan rerun the same unit tests; the Slurm test takes half a minute and exercises
the job script; the fuzzers run for a fixed time whatever the code). Exit status: 0 when every mutant is killed, 1 when any survives, 2 on an
error (a mutant that no longer applies, a failing baseline).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


def parse_mutants(path):
    mutants, cur = [], None
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            if line.startswith("== "):
                m = re.match(r"== (\S+) (\S+): (.*)", line)
                if not m:
                    sys.exit(f"{path}:{lineno}: expected '== ID FILE: description'")
                cur = {"id": m.group(1), "file": m.group(2), "what": m.group(3), "line": lineno}
                mutants.append(cur)
            elif line[:1] in "-+" and cur is not None:
                cur["old" if line[0] == "-" else "new"] = line[1:].strip()
            else:
                sys.exit(f"{path}:{lineno}: unexpected line")
    for m in mutants:
        if "old" not in m or "new" not in m:
            sys.exit(f"{path}:{m['line']}: mutant {m['id']} needs a '-' and a '+' line")
    return mutants


def copy_tree(dst):
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           check=True, capture_output=True).stdout.decode().split("\0")
    for f in files:
        if not f or not os.path.isfile(os.path.join(ROOT, f)):
            continue
        os.makedirs(os.path.join(dst, os.path.dirname(f)), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, f), os.path.join(dst, f))


def sh(cmd, cwd, log):
    with open(log, "w") as out:
        return subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT).returncode


def run_suite(src, build, args, log):
    """ctest; returns (seconds, names of the failed tests, number of tests run)."""
    t0 = time.time()
    cmd = ["ctest", "--test-dir", build, "-j", str(args.jobs)]
    if args.exclude_labels:
        cmd += ["-LE", args.exclude_labels]
    sh(cmd, src, log)
    dt = time.time() - t0
    text = open(log).read()
    failed = re.findall(r"^\s*\d+ - (\S+) \(", text.split("The following tests FAILED:")[-1],
                        re.M) if "The following tests FAILED:" in text else []
    m = re.search(r"tests passed, \d+ tests failed out of (\d+)", text)
    return dt, failed, int(m.group(1)) if m else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--mutants", default=os.path.join(HERE, "mutants.txt"))
    ap.add_argument("--only", help="comma-separated mutant ids")
    ap.add_argument("--exclude-labels", default="memcheck|sanitize|slurm|fuzz",
                    help="ctest -LE regex ('' runs every test)")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = ap.parse_args()
    mutants = parse_mutants(args.mutants)
    if args.only:
        want = set(args.only.split(","))
        mutants = [m for m in mutants if m["id"] in want]
    scratch = tempfile.mkdtemp(prefix="maf-mutation-")
    src, build, logs = (os.path.join(scratch, d) for d in ("src", "build", "logs"))
    os.makedirs(logs)
    copy_tree(src)
    print(f"mutation: scratch copy in {scratch}", flush=True)
    for m in mutants:  # every mutant must apply to the code as it is
        text = open(os.path.join(src, m["file"])).read()
        n = text.count(m["old"])
        if n != 1:
            print(f"mutation: {m['id']} ({m['file']}): the text to replace occurs {n} times; "
                  f"update mutants.txt", file=sys.stderr)
            return 2
    if sh(["cmake", "-S", src, "-B", build], src, os.path.join(logs, "configure.txt")) or \
            sh(["cmake", "--build", build, "-j", str(args.jobs)], src,
               os.path.join(logs, "build.txt")):
        print(f"mutation: the unmutated project does not build (see {logs})", file=sys.stderr)
        return 2
    dt, failed, ntests = run_suite(src, build, args, os.path.join(logs, "baseline.txt"))
    if failed or ntests == 0:
        print(f"mutation: the unmutated suite fails ({', '.join(failed)}); see {logs}/baseline.txt",
              file=sys.stderr)
        return 2
    print(f"mutation: baseline suite: {ntests} tests pass in {dt:.0f} s "
          f"(excluding labels '{args.exclude_labels}')", flush=True)
    results = []
    for m in mutants:
        path = os.path.join(src, m["file"])
        orig = open(path).read()
        open(path, "w").write(orig.replace(m["old"], m["new"], 1))
        log = os.path.join(logs, f"{m['id']}.txt")
        t0 = time.time()
        if sh(["cmake", "--build", build, "-j", str(args.jobs)], src, log):
            verdict, killers = "killed", ["(does not compile)"]
        else:
            _, killers, _ = run_suite(src, build, args, log)
            verdict = "killed" if killers else "SURVIVED"
        open(path, "w").write(orig)
        os.utime(path)  # newer than the mutant's objects: the next build recompiles it
        results.append((m, verdict, killers))
        print(f"{m['id']} {verdict:8s} {time.time() - t0:5.0f} s  {m['file']}: {m['what']}\n"
              f"    failing: {', '.join(killers) if killers else 'none'}", flush=True)
    survived = [m["id"] for m, v, _ in results if v == "SURVIVED"]
    print(f"mutation: {len(results) - len(survived)} of {len(results)} killed; "
          f"survived: {', '.join(survived) if survived else 'none'}")
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
