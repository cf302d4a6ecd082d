"""Keep freed memory in the process for reuse (glibc), which speeds up CPU inference.

A forward pass frees and reallocates feature maps of tens of megabytes. glibc serves those with
``mmap`` and unmaps them on free, so every pass page-faults its memory in again. Raising the mmap
threshold (first: setting any threshold freezes glibc's adaptive one at its 128 KB default, which
is slower still) and the trim threshold keeps the memory for reuse. On two threads here,
``restore-deblur-hqs`` on a 512x512 gray image went from 4.8-4.9 s to 2.4-2.6 s and the gray
denoiser from 0.34-0.41 s to 0.23-0.24 s; training steps did not change
(``scripts/allocator_speed.py``).
The process keeps its peak memory until it exits instead of returning it between images. The
front ends (CLI, app, benchmark) call :func:`keep_freed_memory`; Python users may call it too,
or set ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` in the environment.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_THRESHOLD = 2**30  # 1 GiB: larger single allocations still go to mmap


@functools.cache
def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds once per process; False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _THRESHOLD))
