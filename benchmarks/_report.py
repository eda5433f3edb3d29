"""What the quality benchmarks print: the header of their table, and the
verdict on a headline model's error relative to PCA's and its fit time."""


def print_header(header):
    """Print a table's header line and a rule as wide under it."""
    print(header)
    print("-" * len(header))


def pca_verdict(what, ratio, seconds, *, max_ratio, max_seconds, note=""):
    """Print PASS or FAIL for ``what``: its error is at most ``max_ratio``
    times PCA's and its fit takes under ``max_seconds``; ``note`` ends the
    line. Return the exit status, 0 on a pass and 1 on a fail."""
    ok = ratio <= max_ratio and seconds < max_seconds
    print(
        f"{'PASS' if ok else 'FAIL'}: {what}: {ratio:.3f} x PCA's error "
        f"(bar {max_ratio}), fit {seconds:.1f} s (bar {max_seconds:.0f} s){note}"
    )
    return 0 if ok else 1
