"""The course's layout, in one place: its lessons, the languages of its editions, and where each notebook lives.

A new lesson is one entry in LESSONS (plus its notebooks); a new language is one code in LANGUAGES (plus
its translations: locale/<code>/ and helpers/locale/<code>/). Everything that lists notebooks reads
this module: the Colab cells, the translation build, `make notebooks`, `make clean`, `make test-gpu`,
`make test-notebooks` and the tests. It imports only the standard library: on Colab it runs before the
course's packages are installed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

# The course is written in the first; each other language has an edition in notebooks/<code>/.
LANGUAGES = ("en", "vi")
NOTEBOOKS = Path("notebooks")
SOLUTIONS = "solutions"  # each edition's worked solutions, in a folder of that name
OUTPUTS = "outputs"  # what a notebook writes (models, checkpoints, runs), beside it; git ignores it
# What the lessons keep in the course cache's models/ folder, as <prefix><recipe key> (helpers.recipe): lesson 2's
# models and lesson 2b's LoRA adapters, trained for a later lesson that ran first. `make clean` removes them.
CACHED_MODEL_PREFIX, CACHED_ADAPTER_PREFIX = "lesson2-", "lesson2b-"
CACHED_REPLIES_FOLDER = "replies"  # the course cache's folder of greedy replies already generated (helpers.reply_cache)


@dataclass(frozen=True)
class Lesson:
    name: str  # the notebook's file name without .ipynb; its solutions are <name>_solutions.ipynb
    trains: bool  # it fine-tunes a model: `make test-notebooks` runs it in the demo profile
    gpu: bool  # it runs at lesson scale on a GPU: `make test-gpu` runs it in the lesson profile
    exercises: bool = True  # it ends with exercises, worked in its solutions notebook (an optional deep dive has none)
    after: str | None = None  # the lesson whose saved model or adapter it loads: run after it, in the same test worker


LESSONS = (
    Lesson("01_chat_templates", trains=False, gpu=False),
    Lesson("02_supervised_fine_tuning", trains=True, gpu=True),
    Lesson("02b_lora_and_adapters", trains=True, gpu=True, after="02_supervised_fine_tuning"),
    Lesson("02c_under_the_hood", trains=False, gpu=False, exercises=False),
    Lesson("03_validation_monitoring", trains=True, gpu=True),
    Lesson("04_evaluation", trains=True, gpu=True, after="02b_lora_and_adapters"),
    Lesson("05_your_own_task", trains=True, gpu=True),
)


def edition_folder(language: str) -> Path:
    """Return the folder of an edition's lessons, relative to the repository: notebooks/, or notebooks/<language>/."""
    if language not in LANGUAGES:
        raise ValueError(f"no {language!r} edition; the course's languages are {', '.join(LANGUAGES)}")
    return NOTEBOOKS if language == LANGUAGES[0] else NOTEBOOKS / language


def lesson_notebook(lesson: Lesson, language: str = LANGUAGES[0], solution: bool = False) -> Path:
    """Return a lesson's notebook (or its solutions) in an edition, relative to the repository."""
    if solution:
        return edition_folder(language) / SOLUTIONS / f"{lesson.name}_{SOLUTIONS}.ipynb"
    return edition_folder(language) / f"{lesson.name}.ipynb"


def edition_notebooks(language: str) -> list[Path]:
    """Return an edition's notebooks, relative to the repository: its lessons in order, then their solutions."""
    return [
        lesson_notebook(lesson, language, solution)
        for solution in (False, True)
        for lesson in LESSONS
        if lesson.exercises or not solution
    ]


def course_notebooks(root: str | Path = ".") -> list[Path]:
    """Return every notebook of every edition under root, in the order they are run."""
    return [Path(root) / path for language in LANGUAGES for path in edition_notebooks(language)]


def output_folders() -> list[Path]:
    """Return the folders the notebooks write into, relative to the repository (one beside each folder of notebooks)."""
    folders = dict.fromkeys(path.parent / OUTPUTS for language in LANGUAGES for path in edition_notebooks(language))
    return list(folders)


def notebook_group(notebook: str | Path) -> str:
    """Return the group a notebook runs in under `make test WORKERS=2` (parallel workers): its edition and the first lesson of its chain.

    A group runs on one worker, in the order pytest collects it: a lesson and its solutions, and a lesson
    that loads another's saved model (`after`) with that lesson, so that it finds the model saved and
    does not train it again.
    """
    name = Path(notebook).stem.removesuffix(f"_{SOLUTIONS}")  # a notebook of the learner's own is a group of its own
    by_name = {lesson.name: lesson for lesson in LESSONS}
    while name in by_name and by_name[name].after is not None:
        name = by_name[name].after
    return f"{edition_language(notebook)}/{name}"


def start_order(sizes: dict[str, int]) -> list[str]:
    """Return the test groups (notebook groups and single tests) in the order parallel workers should start them.

    Largest first, as pytest-xdist orders them, but never two groups of the same lesson one after the other:
    the editions' lesson-2 chains are the two largest, and side by side they reach lesson 2b's two-process
    `trl sft` cell at the same moment, two training runs of two processes each, which ran 24 GiB out of memory.
    The group started between them keeps them apart by its length.
    """

    def lesson(group: str) -> str:
        edition, unused, name = group.partition("/")
        return name if edition in LANGUAGES else group

    waiting = sorted(sizes, key=lambda group: -sizes[group])
    order: list[str] = []
    while waiting:
        next_group = next((group for group in waiting if not order or lesson(group) != lesson(order[-1])), waiting[0])
        waiting.remove(next_group)
        order.append(next_group)
    return order


def edition_language(notebook: str | Path) -> str:
    """Return the language of a notebook's edition from its path ("vi" for notebooks/vi/...; else the course's own)."""
    parts = Path(notebook).parts
    for index in range(len(parts) - 1):
        if parts[index] == NOTEBOOKS.name and parts[index + 1] in LANGUAGES[1:]:
            return parts[index + 1]
    return LANGUAGES[0]


if __name__ == "__main__":
    # `python -m helpers.course outputs` (the output folders) and `... cached` (what the lessons keep in the course
    # cache, as shell patterns relative to it: the recipe's models and adapters, the kept replies), for `make clean`.
    if sys.argv[1:] == ["outputs"]:
        print("\n".join(path.as_posix() for path in output_folders()))
    elif sys.argv[1:] == ["cached"]:
        print("\n".join([f"models/{prefix}*" for prefix in (CACHED_MODEL_PREFIX, CACHED_ADAPTER_PREFIX)] + [CACHED_REPLIES_FOLDER]))
    else:
        sys.exit("usage: python -m helpers.course outputs|cached")
