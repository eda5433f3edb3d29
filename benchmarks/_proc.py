"""Reading this process's memory figures from /proc (Linux only), for the
memory benchmarks."""


def status_kb(field):
    """A ``/proc/self/status`` field in kB (``"VmRSS"``, ``"VmHWM"``, ...)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")
