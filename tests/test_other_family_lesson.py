"""Lesson 2 on another chat family: the instructors' `demo` profile, with the base and the instruct model both set to
the Llama 3 stand-in (helpers.stand_ins), as a learner who points the course at Llama 3.2 would set them.

The lesson runs top to bottom with its asserts in a temporary folder (scripts.test_notebooks' runner); its outputs
are not compared, since they are Llama 3's and not the stored SmolLM2 run's.
"""

import shutil
from pathlib import Path

import pytest

from helpers import reply_cache
from helpers.course import LESSONS, lesson_notebook
from helpers.models import MODEL_VARIABLES
from helpers.stand_ins import stand_in_dir
from scripts.test_notebooks import run

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_lesson_2_runs_on_the_llama_3_stand_in(tmp_path, monkeypatch):
    folder = str(stand_in_dir("llama3"))
    monkeypatch.setenv("SFT_COURSE_PROFILE", "demo")
    monkeypatch.setenv(reply_cache.VARIABLE, "off")  # every reply generated on the Llama 3 template, none read back
    for variable in MODEL_VARIABLES.values():
        monkeypatch.setenv(variable, folder)
    lesson = lesson_notebook(next(lesson for lesson in LESSONS if lesson.name.startswith("02_")))
    copy = tmp_path / lesson
    copy.parent.mkdir(parents=True)
    shutil.copy(ROOT / lesson, copy)
    seconds, error = run(copy)
    assert not error, f"lesson 2 on the Llama 3 stand-in failed after {seconds:.0f} s:\n{error}"
