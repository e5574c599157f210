"""The machine a benchmark ran on, for benchmarks/RESULTS.md."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe() -> str:
    """Cores, CPU model, memory, Python, OS and load average (the machine may be shared)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    try:
        load = ", load average " + ", ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        load = ""
    return (f"{os.cpu_count()} cores ({cpu}){memory}, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}{load}")
