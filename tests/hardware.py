"""Machines the course meets, described by the answers to the device queries helpers.environment makes.

`pretend(monkeypatch, MACHINES[name])` makes torch and /proc/cpuinfo answer as that machine would,
so `detect()` can be tested for a T4 or an Apple laptop on a CPU-only test machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from helpers import environment


@dataclass(frozen=True)
class Machine:
    gpu: str | None = None  # torch.cuda.get_device_name(0); None: no CUDA GPU
    gpu_bf16: bool = False  # bf16 in hardware (compute capability 8.0 or newer)
    mps: bool = False  # an Apple GPU
    cpu_capability: str = "AVX2"  # torch.backends.cpu.get_cpu_capability()
    cpuinfo: str = ""  # /proc/cpuinfo ("" on macOS and Windows)


MACHINES = {
    "T4": Machine(gpu="Tesla T4", cpuinfo="flags\t\t: fpu avx2\n"),  # Colab's free GPU: compute capability 7.5
    "A100": Machine(gpu="NVIDIA A100-SXM4-40GB", gpu_bf16=True, cpuinfo="flags\t\t: fpu avx2\n"),
    "L4": Machine(gpu="NVIDIA L4", gpu_bf16=True, cpuinfo="flags\t\t: fpu avx2\n"),  # Ada, compute capability 8.9
    "Apple MPS": Machine(mps=True, cpu_capability="DEFAULT"),
    "CPU with AMX": Machine(cpu_capability="AVX512", cpuinfo="model name\t: Xeon\nflags\t\t: avx512f avx512_bf16 amx_bf16 amx_tile\n"),
    "CPU with AVX512-BF16": Machine(cpu_capability="AVX512", cpuinfo="model name\t: EPYC\nflags\t\t: avx512f avx512_bf16\n"),
    "CPU without bf16": Machine(cpu_capability="AVX2", cpuinfo="model name\t: Core i5\nflags\t\t: avx2 fma\n"),
    "CPU without cpuinfo": Machine(cpu_capability="AVX2"),  # an Intel Mac or Windows laptop
}


def pretend(monkeypatch, machine: Machine) -> None:
    """Make the device queries answer as `machine` would (undone with the monkeypatch)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: machine.gpu is not None)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: machine.gpu)
    # As torch answers: a T4 reports bf16 only when emulation counts.
    monkeypatch.setattr(
        torch.cuda, "is_bf16_supported", lambda including_emulation=True: machine.gpu_bf16 or including_emulation
    )
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: machine.mps)
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: machine.cpu_capability)
    monkeypatch.setattr(environment, "_cpuinfo", lambda: machine.cpuinfo)
