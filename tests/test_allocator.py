import subprocess
import sys

import pytest

FREE_64_MB = """
import sys
import numpy as np
from restore.allocator import keep_freed_memory

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

applied = keep_freed_memory() if sys.argv[1] == "keep" else None
block = np.ones(2**23)  # 64 MB, page-faulted in
before = rss_mb()
del block
print(applied, before - rss_mb())
"""


def _freed_mb(mode: str) -> tuple[str, float]:
    out = subprocess.run([sys.executable, "-c", FREE_64_MB, mode], capture_output=True, text=True, check=True)
    applied, freed = out.stdout.split()
    return applied, float(freed)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_freed_blocks_stay_in_the_process_for_reuse():
    applied, kept_freed = _freed_mb("keep")
    _, default_freed = _freed_mb("default")
    assert applied == "True"
    assert default_freed > 60  # glibc's default unmaps a freed 64 MB block at once
    assert kept_freed < 4
