#!/usr/bin/env python3
"""Times two commands that differ only in the program, interleaved: median wall time and peak
RSS of each, and their ratio. Spawns directly (no shell), so the times hold the programs' own
time; peak RSS comes from /usr/bin/time (a child of this Python process would report Python's
size). OURS and REFERENCE may hold leading arguments (split as a shell would).
Usage: bench-pair.py RUNS LABEL OURS REFERENCE -- ARGS..."""
import os
import shlex
import statistics
import sys
import time


def run(argv):
    """Wall time in ms of one run, output discarded."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    actions = [(os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)]
    start = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
    _, status = os.waitpid(pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    os.close(devnull)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(argv)} failed")
    return elapsed


def peak_rss(argv):
    """Peak RSS in KB of one run, as /usr/bin/time reports it."""
    import subprocess
    out = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, check=True).stderr
    return int(out.strip().splitlines()[-1])


def main():
    runs, label = int(sys.argv[1]), sys.argv[2]
    ours, ref = shlex.split(sys.argv[3]), shlex.split(sys.argv[4])
    args = sys.argv[sys.argv.index("--") + 1:]
    a, b = [], []
    for _ in range(runs):
        a.append(run(ours + args))
        b.append(run(ref + args))
    ta, tb = statistics.median(a), statistics.median(b)
    ra, rb = peak_rss(ours + args), peak_rss(ref + args)
    names = os.environ.get("BENCH_NAMES", "ours skopeo").split()
    print(f"{label:<30} {names[0]} {ta:7.2f} ms  {names[1]} {tb:7.2f} ms  ratio {ta / tb:.2f}   "
          f"RSS {names[0]} {ra:6d} KB  {names[1]} {rb:6d} KB  ratio {ra / rb:.2f}")


main()
