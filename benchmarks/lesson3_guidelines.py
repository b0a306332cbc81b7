"""Lesson 3's watched run with and without the guidelines (the system prompt): how soon do replies take the house format?

Lesson 3 keeps the system prompt (the house style's guidelines) in the rows it trains on and in the prompts it
checks; lessons 2, 2b and 4 drop it (helpers.data.without_system_prompt). This script trains lesson 3's watched
run twice in the `quick` profile, as the notebook builds it, read from the notebook: its RUN table, the LoraConfig
of its `fresh_trainer` and the SFTConfig of its section 2 (their settings written as literals or read from RUN; the
end-of-turn token, the device and the precision are worked out here as the notebook does), seeded with 42 as its
first cell, and helpers.monitoring.HouseStyleCheck on the
first 16 validation prompts at every second evaluation (steps 0, 4 and 8). The first run keeps the system
prompt; the second drops it from the training rows, the validation rows and the checked prompts alike.

Each check's format and content rates carry 95% Wilson intervals; each run's last check minus its first is
paired on the same prompts (bootstrap, helpers.intervals), and so are the two runs' last checks (the same
16 prompts, but for the system prompt). Training seconds are train()'s, with its evaluations and checks.

Usage (from the repository root; offline is fine; nothing else should run on the machine; a few minutes on
2 CPU cores):
  .venv/bin/python benchmarks/lesson3_guidelines.py
Writes benchmarks/results/lesson3_guidelines.json and prints a Markdown table.
"""

from __future__ import annotations

import ast
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.environment import default_environment  # noqa: E402  (imports no Hugging Face library)

default_environment(Path(__file__).resolve().parent.parent / "offline.env")  # before they are imported

import pandas as pd  # noqa: E402
from peft import LoraConfig  # noqa: E402
from transformers import PrinterCallback  # noqa: E402
from trl import SFTConfig, SFTTrainer  # noqa: E402

from helpers.chat_format import chat_format  # noqa: E402
from helpers.data import load_support_desk, without_system_prompt  # noqa: E402
from helpers.environment import detect, seed_everything  # noqa: E402
from helpers.intervals import paired_difference, rates_with_intervals, verdict  # noqa: E402
from helpers.models import load_model_and_tokenizer, load_tokenizer  # noqa: E402
from helpers.monitoring import HouseStyleCheck  # noqa: E402
from helpers.recipe import SHUFFLE_SEED  # noqa: E402
from helpers.templates import set_training_template  # noqa: E402
from helpers.training import pick_precision  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "03_validation_monitoring.ipynb"
PROFILE = "quick"
EVERY = 2  # lesson 3's HouseStyleCheck: the 1st, 3rd, 5th ... evaluation
COLUMNS = ("format", "content")


def _code_cells() -> list[ast.Module]:
    """Return the parsed code cells of lesson 3."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    return [ast.parse("".join(cell["source"])) for cell in cells if cell["cell_type"] == "code"]


def lesson_run(profile: str = PROFILE) -> dict:
    """Return the notebook's `RUN = {...}[env.profile]` entry for a profile (its dict holds only literals)."""
    for tree in _code_cells():
        for node in tree.body:
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "RUN":
                return ast.literal_eval(node.value.value)[profile]
    raise LookupError(f"no RUN table in {NOTEBOOK.name}")


def lesson_settings(name: str, run: dict) -> dict:
    """Return the keyword arguments of the notebook's `name = SomeConfig(...)` that are literals or read RUN."""
    for tree in _code_cells():
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name and isinstance(node.value, ast.Call):
                settings = {}
                for keyword in node.value.keywords:
                    names = {child.id for child in ast.walk(keyword.value) if isinstance(child, ast.Name)}
                    if keyword.arg is not None and names <= {"RUN"}:  # the rest (env, tokenizer, **precision) is worked out here
                        settings[keyword.arg] = eval(compile(ast.Expression(keyword.value), NOTEBOOK.name, "eval"), {"RUN": run})
                return settings
    raise LookupError(f"no `{name} = ...(...)` in {NOTEBOOK.name}")


def watched_config(env, run: dict, tokenizer, output_dir: str) -> SFTConfig:
    """Return lesson 3's SFTConfig for its watched run (section 2), in output_dir."""
    return SFTConfig(
        **{**lesson_settings("config", run), "output_dir": output_dir}, eos_token=chat_format(tokenizer).eos_token,
        use_cpu=env.device == "cpu", **pick_precision(env)[0],
    )


def rates(outcomes: pd.DataFrame) -> dict[str, dict]:
    """Return each outcome's passed count, rate and 95% Wilson interval."""
    table = rates_with_intervals(outcomes[list(COLUMNS)])
    return {column: {"passed": int(outcomes[column].sum()), "of": int(table.loc[column, "n"]),
                     **{key: round(float(table.loc[column, key]), 3) for key in ("rate", "low", "high")}}
            for column in COLUMNS}


def paired(first: pd.Series, second: pd.Series) -> dict:
    """Return first minus second on the same prompts, with its 95% paired-bootstrap interval and verdict."""
    change = paired_difference(first, second)
    return {**{key: round(float(value), 3) for key, value in change.items()}, "verdict": verdict(change)}


def watched_run(env, run: dict, keep_system_prompt: bool, folder: str) -> tuple[dict, dict[int, pd.DataFrame]]:
    """Train lesson 3's watched run once and return its record and each check's outcomes (keyed by step)."""
    seed_everything(42)  # lesson 3's first cell; the LoRA matrices are drawn from it
    support_desk = load_support_desk()
    train = support_desk["train"].shuffle(seed=SHUFFLE_SEED).select(range(run["train_rows"]))
    validation = support_desk["validation"].select(range(run["validation_rows"]))
    checked = support_desk["validation"].select(range(run["check_rows"]))
    if not keep_system_prompt:
        train, validation, checked = (rows.map(without_system_prompt) for rows in (train, validation, checked))
    tokenizer = load_tokenizer("base", verbose=False)
    set_training_template(tokenizer)
    house_style = HouseStyleCheck(checked, tokenizer, every=EVERY)
    model, unused = load_model_and_tokenizer("base", verbose=False)
    trainer = SFTTrainer(model=model, args=watched_config(env, run, tokenizer, folder), train_dataset=train,
                         eval_dataset=validation, processing_class=tokenizer, peft_config=LoraConfig(**lesson_settings("lora_config", run)),
                         callbacks=[house_style])
    trainer.remove_callback(PrinterCallback)
    start = time.perf_counter()
    trainer.train()
    seconds = round(time.perf_counter() - start, 1)
    outcomes = house_style.outcomes
    first, last = min(outcomes), max(outcomes)
    record = {
        "system prompt": "kept (lesson 3)" if keep_system_prompt else "dropped (without_system_prompt)",
        "checks": {step: rates(table) for step, table in sorted(outcomes.items())},
        f"last check (step {last}) minus first (step {first})": {c: paired(outcomes[last][c], outcomes[first][c]) for c in COLUMNS},
        "validation loss": {entry["step"]: round(entry["eval_loss"], 3) for entry in trainer.state.log_history if "eval_loss" in entry},
        "training seconds": seconds,
    }
    return record, outcomes


def _cell(value: dict) -> str:
    return f"{value['passed']}/{value['of']} = {value['rate']:.2f} ({value['low']:.2f}–{value['high']:.2f})"


def _difference(value: dict) -> str:
    return f"{value['difference']:+.2f} ({value['low']:+.2f} to {value['high']:+.2f}), {value['verdict']}"


def main() -> None:
    env, run = detect(), lesson_run()
    records, outcomes = {}, {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, keep in (("with guidelines", True), ("without guidelines", False)):
            records[name], outcomes[name] = watched_run(env, run, keep, str(Path(scratch) / name.replace(" ", "-")))
            print(f"{name}: {records[name]['training seconds']} s", flush=True)
    last = max(outcomes["with guidelines"])
    between = {c: paired(outcomes["with guidelines"][last][c], outcomes["without guidelines"][last][c]) for c in COLUMNS}
    summary = {
        "profile": PROFILE, "run": run, "device": env.device, "precision": pick_precision(env)[0],
        "sft_config": lesson_settings("config", run), "lora_config": lesson_settings("lora_config", run), "check every": EVERY,
        "runs": records,
        f"with minus without guidelines, last check (step {last})": between,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "lesson3_guidelines.json").write_text(json.dumps(summary, indent=1) + "\n")

    print(f"\n{run['check_rows']} checked prompts; rates with 95% Wilson intervals; differences paired on the same prompts\n")
    print("| run | " + " | ".join(f"{c}, step {step}" for step in records["with guidelines"]["checks"] for c in COLUMNS)
          + " | format, last minus first | training s |")
    print("|---|" + "---|" * (2 * len(records["with guidelines"]["checks"]) + 2))
    for name, record in records.items():
        rise = next(value for key, value in record.items() if key.startswith("last check"))
        print(f"| {name} | " + " | ".join(_cell(check[c]) for check in record["checks"].values() for c in COLUMNS)
              + f" | {_difference(rise['format'])} | {record['training seconds']} |")
    for column in COLUMNS:
        print(f"\n{column} at step {last}, with minus without guidelines: {_difference(between[column])}")


if __name__ == "__main__":
    main()
