"""What a benchmark figure was measured on: the CPU (``lscpu``), the load and the commit."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

__all__ = ["cpu_line", "load_line", "commit"]


def cpu_line() -> str:
    """``lscpu``'s model name, family and model, the CPU count and whether it has AVX-512."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return f"{platform.processor() or platform.machine()} (lscpu unavailable)"
    fields = {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in out.splitlines())}
    flags = fields.get("Flags", "").split()
    vector = "AVX-512" if "avx512f" in flags else ("AVX2 only" if "avx2" in flags else "no AVX2")
    return (f"{fields.get('Model name', '?')}, family {fields.get('CPU family', '?')} model {fields.get('Model', '?')}, "
            f"{fields.get('CPU(s)', '?')} CPUs, {vector}, hypervisor {fields.get('Hypervisor vendor', 'none')}")


def load_line() -> str:
    """The 1, 5 and 15 minute load averages: the machine may be shared."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def commit(repo: Path) -> str:
    """The checked-out commit (short hash), with ``+changes`` when the work tree differs from it."""
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True)
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")
