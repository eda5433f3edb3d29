"""Reading this process's memory figures from /proc (Linux only), and
measuring in a fresh process, for the memory benchmarks."""

import subprocess
import sys


def status_kb(field):
    """A ``/proc/self/status`` field in kB (``"VmRSS"``, ``"VmHWM"``, ...)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def run_fresh(script, *args):
    """Run ``python script *args`` in a fresh process (its peak memory is its
    own) and return its standard output."""
    return subprocess.run(
        [sys.executable, script, *map(str, args)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
