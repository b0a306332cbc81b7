"""Where the course runs: Colab or local, which accelerator, online or offline, which profile."""

from __future__ import annotations

import os
import random
import socket
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from helpers.i18n import _

PROFILE_VARIABLE = "SFT_COURSE_PROFILE"
# lesson: GPU-scale runs; quick: small CPU runs (the default without a GPU); demo: every training cell
# under a minute on a laptop CPU, for live teaching (chosen with SFT_COURSE_PROFILE=demo).
PROFILES = ("lesson", "quick", "demo")
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Environment:
    """What the course found about the machine it runs on."""

    platform: str  # "colab" or "local"
    device: str  # "cuda", "mps" or "cpu"
    device_name: str
    bf16: bool  # bf16 compute is supported (and worth using) on this device
    online: bool
    offline_reason: str  # why offline; "" when online
    profile: str  # "lesson" (GPU-scale runs), "quick" (small CPU runs) or "demo" (live teaching)
    profile_reason: str


def in_colab() -> bool:
    """Return True when running inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def pick_device() -> str:
    """Return "cuda", "mps" or "cpu": the best accelerator PyTorch can use here."""
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def device_name(device: str) -> str:
    """Return a human-readable name for the device (GPU model, or "CPU")."""
    if device == "cuda":
        return torch.cuda.get_device_name(0)
    if device == "mps":
        return "Apple GPU (MPS)"
    return "CPU"


def supports_bf16(device: str) -> bool:
    """Return True when bf16 training is supported on this device.

    A Colab T4 (compute capability 7.5) has no bf16; Ampere (8.0) and newer do.
    On a CPU, bf16 only pays off with native bf16 matrix units (AVX512-BF16 or AMX).
    """
    if device == "cuda":
        return torch.cuda.is_bf16_supported(including_emulation=False)
    if device == "cpu":
        return torch.backends.cpu.get_cpu_capability() in {"AVX512_BF16", "AMX"} or _cpu_has_flags(
            "amx_bf16", "avx512_bf16"
        )
    return False


def cpu_model() -> str:
    """Return the CPU's model name as Linux reports it, or "CPU" where it does not."""
    for line in _cpuinfo().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "CPU"


def _cpu_has_flags(*flags: str) -> bool:
    return any(flag in _cpuinfo().split() for flag in flags)


def _cpuinfo() -> str:
    # Linux only; elsewhere (macOS, Windows) the callers fall back to "no flags" and "CPU".
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return cpuinfo.read()
    except OSError:
        return ""


def default_environment(settings_file: str | Path) -> dict[str, str]:
    """Return the KEY=VALUE settings of a file such as the course's offline.env, setting in os.environ those not set already."""
    settings = {}
    for line in Path(settings_file).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, value = line.split("=", 1)
            settings[name.strip()] = value.strip()
    for name, value in settings.items():
        os.environ.setdefault(name, value)
    return settings


def progress_displays_off() -> bool:
    """Return True when TQDM_DISABLE is set: progress bars and redrawn figures are off (tests, stored notebooks)."""
    return os.environ.get("TQDM_DISABLE", "").strip().lower() in _TRUE


def offline_reason() -> str:
    """Return why the course should work offline, or "" when the Hugging Face Hub is reachable."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE:
        return "HF_HUB_OFFLINE=1"
    if not _hub_reachable():
        return _("the Hugging Face Hub cannot be reached")
    return ""


@lru_cache(maxsize=1)
def _hub_reachable(host: str = "huggingface.co", timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def pick_profile(device: str) -> tuple[str, str]:
    """Return the run profile ("lesson", "quick" or "demo") and why it was chosen."""
    requested = os.environ.get(PROFILE_VARIABLE, "").strip().lower()
    if requested:
        if requested not in PROFILES:
            raise ValueError(
                _(
                    "{variable}={requested!r} is not a profile. Use one of {profiles}, "
                    "or unset it to let the course choose from the hardware."
                ).format(variable=PROFILE_VARIABLE, requested=requested, profiles=", ".join(PROFILES))
            )
        return requested, _("set by {variable}").format(variable=PROFILE_VARIABLE)
    if device == "cuda":
        return "lesson", _("a CUDA GPU is available")
    return "quick", _("no CUDA GPU")


def detect() -> Environment:
    """Return what the course found about this machine (call once at the top of a notebook)."""
    device = pick_device()
    reason = offline_reason()
    profile, profile_reason = pick_profile(device)
    return Environment(
        platform="colab" if in_colab() else "local",
        device=device,
        device_name=device_name(device),
        bf16=supports_bf16(device),
        online=not reason,
        offline_reason=reason,
        profile=profile,
        profile_reason=profile_reason,
    )


def summary(env: Environment) -> str:
    """Return the one-line description of the environment that a notebook prints at its top."""
    where = "Colab" if env.platform == "colab" else _("local")
    network = _("online") if env.online else _("offline ({reason})").format(reason=env.offline_reason)
    bf16 = _("bf16 supported") if env.bf16 else _("no bf16")
    return _("{where} · {device_name} ({device}, {bf16}) · {network} · profile: {profile} ({profile_reason})").format(
        where=where,
        device_name=env.device_name,
        device=env.device,
        bf16=bf16,
        network=network,
        profile=env.profile,
        profile_reason=env.profile_reason,
    )


def seed_everything(seed: int = 42) -> None:
    """Seed Python, NumPy and PyTorch so that runs repeat."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
