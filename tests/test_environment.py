"""Tests for helpers.environment: profile, device, network and seeding."""

import os

import pytest
import torch
from hardware import MACHINES, pretend

from helpers import environment
from helpers.environment import (
    Environment,
    cpu_model,
    detect,
    in_colab,
    offline_reason,
    pick_profile,
    seed_everything,
    summary,
    supports_bf16,
)


@pytest.fixture(autouse=True)
def _no_profile_override(monkeypatch):
    monkeypatch.delenv("SFT_COURSE_PROFILE", raising=False)


@pytest.mark.parametrize("value, expected", [("lesson", "lesson"), ("quick", "quick"), ("demo", "demo"), (" Lesson ", "lesson")])
def test_pick_profile_honours_the_environment_variable(monkeypatch, value, expected):
    monkeypatch.setenv("SFT_COURSE_PROFILE", value)
    profile, reason = pick_profile("cpu")
    assert profile == expected
    assert "SFT_COURSE_PROFILE" in reason


def test_pick_profile_variable_wins_over_the_device(monkeypatch):
    monkeypatch.setenv("SFT_COURSE_PROFILE", "quick")
    assert pick_profile("cuda")[0] == "quick"


def test_pick_profile_rejects_an_unknown_profile_naming_the_valid_ones(monkeypatch):
    monkeypatch.setenv("SFT_COURSE_PROFILE", "turbo")
    with pytest.raises(ValueError, match="'turbo'.*lesson, quick"):
        pick_profile("cpu")


@pytest.mark.parametrize("device", ["cpu", "mps"])
def test_pick_profile_defaults_to_quick_without_cuda(device):
    assert pick_profile(device)[0] == "quick"


def test_pick_profile_defaults_to_lesson_on_cuda():
    assert pick_profile("cuda")[0] == "lesson"


def test_offline_reason_names_hf_hub_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert offline_reason() == "HF_HUB_OFFLINE=1"


def test_detect_finds_the_cpu_offline_with_the_quick_profile(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    env = detect()
    assert isinstance(env, Environment)
    assert env.device == "cpu"
    assert env.device_name == "CPU"
    assert env.online is False
    assert env.profile == "quick"


def test_summary_mentions_the_profile_and_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    line = summary(detect())
    assert "profile: quick" in line
    assert "offline (HF_HUB_OFFLINE=1)" in line


def test_supports_bf16_is_false_on_mps():
    assert supports_bf16("mps") is False


@pytest.mark.parametrize(
    ("machine", "device", "name", "bf16", "profile"),
    [
        ("T4", "cuda", "Tesla T4", False, "lesson"),  # bf16 only emulated: not supported
        ("A100", "cuda", "NVIDIA A100-SXM4-40GB", True, "lesson"),
        ("L4", "cuda", "NVIDIA L4", True, "lesson"),
        ("Apple MPS", "mps", "Apple GPU (MPS)", False, "quick"),
        ("CPU with AMX", "cpu", "CPU", True, "quick"),
        ("CPU with AVX512-BF16", "cpu", "CPU", True, "quick"),
        ("CPU without bf16", "cpu", "CPU", False, "quick"),
        ("CPU without cpuinfo", "cpu", "CPU", False, "quick"),
    ],
)
def test_detect_finds_device_bf16_and_profile(monkeypatch, machine, device, name, bf16, profile):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    pretend(monkeypatch, MACHINES[machine])
    env = detect()
    assert (env.device, env.device_name, env.bf16, env.profile) == (device, name, bf16, profile)
    assert ("bf16 supported" if bf16 else "no bf16") in summary(env)


def test_cpu_model_and_flags_come_from_cpuinfo(monkeypatch):
    monkeypatch.setattr(environment, "_cpuinfo", lambda: "model name\t: Test CPU 9000\nflags\t\t: fpu avx512_bf16\n")
    assert cpu_model() == "Test CPU 9000"
    assert environment._cpu_has_flags("amx_bf16", "avx512_bf16")
    assert not environment._cpu_has_flags("amx_bf16")


def test_cpu_model_without_cpuinfo_says_cpu(monkeypatch):
    monkeypatch.setattr(environment, "_cpuinfo", lambda: "")  # macOS and Windows have no /proc/cpuinfo
    assert cpu_model() == "CPU"
    assert not environment._cpu_has_flags("avx512_bf16")


def test_seed_everything_makes_torch_rand_repeat():
    seed_everything(123)
    first = torch.rand(5)
    seed_everything(123)
    assert torch.equal(torch.rand(5), first)


def test_in_colab_is_false_here(monkeypatch):
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(environment.sys.modules, "google.colab", raising=False)
    assert in_colab() is False


def test_in_colab_is_true_with_colab_release_tag(monkeypatch):
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20250101-060000_RC00")
    assert in_colab() is True


def test_default_environment_sets_what_is_missing_and_keeps_what_is_set(tmp_path, monkeypatch):
    settings_file = tmp_path / "offline.env"
    settings_file.write_text("# a comment\n\nSFT_TEST_MISSING=1\nSFT_TEST_SET=from-file\nSFT_TEST_EQUALS=a=b\n")
    for name in ("SFT_TEST_MISSING", "SFT_TEST_EQUALS"):
        monkeypatch.setenv(name, "")  # so that monkeypatch removes what the call sets, after the test
        monkeypatch.delenv(name)
    monkeypatch.setenv("SFT_TEST_SET", "from-the-shell")
    settings = environment.default_environment(settings_file)
    assert settings == {"SFT_TEST_MISSING": "1", "SFT_TEST_SET": "from-file", "SFT_TEST_EQUALS": "a=b"}
    assert os.environ["SFT_TEST_MISSING"] == "1"
    assert os.environ["SFT_TEST_SET"] == "from-the-shell"
    assert os.environ["SFT_TEST_EQUALS"] == "a=b"


def test_summary_speaks_vietnamese_in_the_vietnamese_notebooks(vietnamese):
    env = Environment(platform="local", device="cpu", device_name="CPU", bf16=False, online=True,
                      offline_reason="", profile="quick", profile_reason="no CUDA GPU")
    english = summary(env)
    assert english == "local · CPU (cpu, no bf16) · online · profile: quick (no CUDA GPU)"
    vietnamese.on()
    expected = vietnamese("{where} · {device_name} ({device}, {bf16}) · {network} · profile: {profile} ({profile_reason})").format(
        where=vietnamese("local"), device_name="CPU", device="cpu", bf16=vietnamese("no bf16"), network=vietnamese("online"),
        profile="quick", profile_reason="no CUDA GPU",
    )
    assert summary(env) == expected != english
    assert pick_profile("cpu")[1] == vietnamese("no CUDA GPU") != "no CUDA GPU"
    vietnamese.off()
    assert summary(env) == english
