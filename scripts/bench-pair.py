#!/usr/bin/env python3
"""Times two commands that differ only in the program, interleaved: median wall time and peak
RSS of each, and their ratio. Spawns directly (no shell), so the times hold the programs' own
time; peak RSS comes from /usr/bin/time (a child of this Python process would report Python's
size). Usage: bench-pair.py RUNS LABEL OURS REFERENCE -- ARGS..."""
import os
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
    runs, label, ours, ref = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    args = sys.argv[sys.argv.index("--") + 1:]
    a, b = [], []
    for _ in range(runs):
        a.append(run([ours] + args))
        b.append(run([ref] + args))
    ta, tb = statistics.median(a), statistics.median(b)
    ra, rb = peak_rss([ours] + args), peak_rss([ref] + args)
    print(f"{label:<30} ours {ta:7.2f} ms  skopeo {tb:7.2f} ms  ratio {ta / tb:.2f}   "
          f"RSS ours {ra:6d} KB  skopeo {rb:6d} KB  ratio {ra / rb:.2f}")


main()
