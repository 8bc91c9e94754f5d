"""Which floating-point precision a torch model runs in on this machine: bf16 or fp32.

bf16 roughly doubles a transformer's speed where the hardware multiplies bf16 natively
(AVX-512 BF16 or AMX on x86, a recent GPU) at a cosine of about .9999 to the fp32 vectors;
where it is emulated (AVX2 only) it is slower than fp32. Machines differ between runs, so
the choice is made at run time from the CPU's flags, and a model's ``precision`` setting
forces either. Precision is not part of a model's fingerprint: vectors made in either
precision are interchangeable in one collection, and a store must not turn "mismatched"
because it was opened on another machine.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pipeline.embedders.base import pick_device

log = logging.getLogger(__name__)

Precision = Literal["fp32", "bf16"]
# x86 flags (as /proc/cpuinfo names them) of native bf16 matrix arithmetic.
BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The first processor's flags from /proc/cpuinfo; empty where the file is missing (not Linux)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def choose_precision(setting: str, *, device: str, flags: Iterable[str], cuda_bf16: bool = False) -> Precision:
    """bf16 where ``device`` multiplies bf16 natively, fp32 elsewhere; ``setting`` fp32/bf16 forces it.

    ``flags`` are the CPU's flags, ``cuda_bf16`` whether the GPU supports bf16 (for a cuda device).
    """
    if setting in ("fp32", "bf16"):
        return setting  # type: ignore[return-value]
    if setting != "auto":
        raise ValueError(f"precision must be auto, fp32 or bf16, got {setting!r}")
    if device.startswith("cuda"):
        return "bf16" if cuda_bf16 else "fp32"
    return "bf16" if BF16_CPU_FLAGS & set(flags) else "fp32"


def precision_for(setting: str, device: str) -> Precision:
    """:func:`choose_precision` for this machine (reads the CPU flags, asks torch about the GPU)."""
    cuda_bf16 = False
    if device.startswith("cuda"):
        import torch

        cuda_bf16 = bool(torch.cuda.is_bf16_supported())
    chosen = choose_precision(setting, device=device, flags=cpu_flags(), cuda_bf16=cuda_bf16)
    log.info("precision %s on %s (setting %s)", chosen, device, setting)
    return chosen


def planned_precision(setting: str, device: str, chosen: Precision | None) -> Precision:
    """The precision a model runs in: ``chosen`` once loaded, else what loading would choose."""
    if chosen is not None:
        return chosen
    return precision_for(setting, pick_device(device))


def torch_dtype(precision: Precision):
    import torch

    return torch.bfloat16 if precision == "bf16" else torch.float32
