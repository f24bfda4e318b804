"""Process-wide settings for batch work.

The engine works chunk by chunk on temporaries of about 1 MiB. glibc returns such blocks to
the system when they are freed and takes them back, page by page, for the next chunk; raising
its thresholds keeps them in the process instead (the command line does this at start). The
effect is on speed only: results are the same either way.
"""

from __future__ import annotations

import ctypes
import ctypes.util

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
