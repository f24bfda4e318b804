"""Process-wide settings for batch work.

The engine works chunk by chunk on temporaries of about 1 MiB. glibc returns such blocks to
the system when they are freed and takes them back, page by page, for the next chunk; raising
its thresholds keeps them in the process instead (the command line does this at start). The
engine also spreads chunks over its own threads, so BLAS runs on one thread. The effect is on
speed only: results are the same either way.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 2**20  # glibc's maximum on 64-bit
TRIM_THRESHOLD = 256 * 2**20


def keep_freed_memory() -> bool:
    """Ask glibc to keep up to 256 MiB of freed memory for reuse; ``False`` where there is
    no glibc (the setting is then simply not applied)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )


def one_blas_thread() -> bool:
    """Have OpenBLAS (numpy's BLAS) keep to the calling thread, unless the environment says
    otherwise: its pool of one thread per core spins for about 0.1 s of CPU when numpy is
    imported, beside the engine's own threads, and no logic needs it. ``False`` when numpy
    is already imported (the setting would come too late)."""
    if "numpy" in sys.modules:
        return False
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    return True
