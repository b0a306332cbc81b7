"""`make clean` removes what the lessons wrote and keeps the converted offline model."""

import os
import shutil
import subprocess
from pathlib import Path

from helpers.course import CACHED_ADAPTER_PREFIX, CACHED_MODEL_PREFIX, CACHED_REPLIES_FOLDER

ROOT = Path(__file__).resolve().parent.parent


def test_make_clean_removes_lesson_outputs_and_keeps_the_converted_model(tmp_path):
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    shutil.copytree(ROOT / "helpers", tmp_path / "helpers")  # make clean asks helpers.course where the outputs are
    written = [
        tmp_path / "notebooks/outputs/smollm2-support-desk/model.safetensors",
        tmp_path / "notebooks/outputs/trackio/sft-course-lesson-3.db",
        tmp_path / "notebooks/solutions/outputs/overfitting/checkpoint-1/optimizer.pt",
        tmp_path / "notebooks/vi/outputs/smollm2-support-desk/model.safetensors",
        tmp_path / "notebooks/vi/solutions/outputs/overfitting/checkpoint-1/optimizer.pt",
        tmp_path / f"cache/models/{CACHED_MODEL_PREFIX}0123456789abcdef/model.safetensors",
        tmp_path / f"cache/models/{CACHED_MODEL_PREFIX}fedcba9876543210/model.safetensors",
        tmp_path / f"cache/models/{CACHED_ADAPTER_PREFIX}0123456789abcdef/adapter_model.safetensors",
        tmp_path / f"cache/{CACHED_REPLIES_FOLDER}/0123456789abcdef0123456789abcdef.json",
    ]
    converted = tmp_path / "cache/models/SmolLM2-135M-Instruct-from-gguf/model.safetensors"
    stand_in = tmp_path / "cache/models/SmolLM2-135M-base-stand-in/model.safetensors"
    lesson = tmp_path / "notebooks/01_chat_templates.ipynb"
    for path in written + [converted, stand_in, lesson]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")

    environment = {**os.environ, "SFT_COURSE_CACHE": str(tmp_path / "cache")}
    subprocess.run(["make", "--silent", "clean"], cwd=tmp_path, env=environment, check=True)

    assert not any(path.exists() for path in written)
    assert converted.exists() and stand_in.exists() and lesson.exists()
