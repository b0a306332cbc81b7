"""Tests for helpers.course: the course's layout in one place, and everything that lists notebooks reading it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers import course, i18n
from helpers.colab import setup_cell
from helpers.course import LANGUAGES, LESSONS, course_notebooks, edition_language, lesson_notebook, output_folders
from helpers.i18n import LANGUAGE_VARIABLE
from scripts import translations

ROOT = Path(__file__).resolve().parent.parent


def test_every_notebook_in_the_repository_is_a_course_notebook_and_each_exists():
    on_disk = {path.relative_to(ROOT) for path in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in path.parts}
    listed = [path.relative_to(ROOT) for path in course_notebooks(ROOT)]
    with_solutions = sum(lesson.exercises for lesson in LESSONS)
    assert len(listed) == len(set(listed)) == (len(LESSONS) + with_solutions) * len(LANGUAGES)
    assert set(listed) == on_disk, "a notebook is missing, or one is not in helpers/course.py's LESSONS"


def test_each_notebook_knows_its_editions_language():
    for language in LANGUAGES:
        for path in course.edition_notebooks(language):
            assert edition_language(path) == edition_language(ROOT / path) == language


def test_make_clean_reads_the_output_folders_without_the_courses_packages():
    # `make clean` runs before `make setup` too: helpers.course must need nothing but the standard library.
    command = [sys.executable, "-S", "-m", "helpers.course", "outputs"]
    printed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    assert printed.stdout.split() == [path.as_posix() for path in output_folders()]
    assert "notebooks/vi/solutions/outputs" in printed.stdout.split()


def test_a_new_language_is_one_edit_of_the_language_list(tmp_path, monkeypatch):
    """Add "fr" to LANGUAGES, and nothing else: the French edition is listed, built and speaks French."""
    monkeypatch.setattr(course, "LANGUAGES", (*LANGUAGES, "fr"))
    first = lesson_notebook(LESSONS[0], "fr")
    assert first == Path("notebooks/fr/01_chat_templates.ipynb") and edition_language(first) == "fr"
    assert ROOT / first in course_notebooks(ROOT)
    assert "fr" in translations.translated_languages()
    monkeypatch.setenv(LANGUAGE_VARIABLE, "fr")
    assert i18n.language() == "fr"
    assert f'os.environ["{LANGUAGE_VARIABLE}"] = "fr"' in setup_cell(first.as_posix())

    # The build writes the French notebook from the English one (no translations yet: the English text).
    english = tmp_path / lesson_notebook(LESSONS[0])
    english.parent.mkdir(parents=True)
    shutil.copy(ROOT / lesson_notebook(LESSONS[0]), english)
    monkeypatch.setattr(translations, "ROOT", tmp_path)
    monkeypatch.setattr(translations, "LOCALE_DIR", tmp_path / "locale")
    translations.build_one(english, "fr")
    built = nbformat.read(tmp_path / first, as_version=4)
    assert f'"{LANGUAGE_VARIABLE}"] = "fr"' in built.cells[1].source
    assert built.cells[0].source.startswith("[![Open In Colab]") and "notebooks/fr/01_chat_templates.ipynb" in built.cells[0].source


def test_an_unknown_edition_says_which_exist():
    with pytest.raises(ValueError, match="en, vi"):
        course.edition_folder("xx")


def test_a_lesson_runs_with_its_solutions_and_after_the_lesson_whose_model_it_loads_in_one_test_group():
    for language in LANGUAGES:
        for lesson in LESSONS:
            group = course.notebook_group(lesson_notebook(lesson, language))
            assert group.startswith(f"{language}/")
            if lesson.exercises:
                assert course.notebook_group(lesson_notebook(lesson, language, solution=True)) == group
            if lesson.after is not None:
                earlier = next(other for other in LESSONS if other.name == lesson.after)
                assert course.notebook_group(lesson_notebook(earlier, language)) == group
                # a group runs in the order pytest collects it: by path
                assert str(lesson_notebook(earlier, language)) < str(lesson_notebook(lesson, language))
    assert course.notebook_group(Path("notebooks/vi/04_evaluation.ipynb")) == "vi/02_supervised_fine_tuning"
    assert course.notebook_group(Path("notebooks/03_validation_monitoring.ipynb")) == "en/03_validation_monitoring"
    assert course.notebook_group(Path("notebooks/my_own_experiment.ipynb")) == "en/my_own_experiment"


def test_parallel_workers_never_start_two_groups_of_one_lesson_one_after_the_other():
    sizes: dict[str, int] = {}
    for path in course_notebooks(ROOT):
        group = course.notebook_group(path.relative_to(ROOT))
        sizes[group] = sizes.get(group, 0) + sum(cell.cell_type == "code" for cell in nbformat.read(path, as_version=4).cells)
    sizes["tests/test_course.py::a_test"] = 1
    order = course.start_order(sizes)
    assert sorted(order) == sorted(sizes)
    assert sizes[order[0]] == max(sizes.values()), "the largest group starts first"
    lessons = [group.split("/", 1)[1] for group in order if not group.startswith("tests/")]
    assert all(first != second for first, second in zip(lessons, lessons[1:])), order
    chain = next(lesson.after for lesson in LESSONS if lesson.after is not None)  # lesson 2, which 2b and 4 follow
    chains = [group for group in order if group.endswith("/" + chain)]
    assert len(chains) == len(LANGUAGES) and order.index(chains[1]) - order.index(chains[0]) >= 2, order
