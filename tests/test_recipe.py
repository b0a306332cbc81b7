"""Tests for helpers.recipe: lesson 2's recipe in one place, and its model found (or trained) by what shaped it."""

from __future__ import annotations

import ast
import copy
import dataclasses
import json
from pathlib import Path

import pytest

from helpers import recipe
from helpers.data import load_support_desk
from helpers.environment import Environment
from helpers.measurements import read_run_summary
from helpers.recipe import RUNS, SETTINGS, SHUFFLE_SEED, expected_key, fine_tuned_model_dir, save_recipe, sft_config, trainer_key
from scripts.notebook_source import without_magics

ROOT = Path(__file__).resolve().parent.parent
LESSON2 = ROOT / "notebooks" / "02_supervised_fine_tuning.ipynb"
LESSON2B = ROOT / "notebooks" / "02b_lora_and_adapters.ipynb"
LORA_SWEEP = ROOT / "benchmarks" / "results" / "lora_learning_rate.json"
# A CPU without bf16, so a run trains in float32 wherever the test runs.
CPU_ENV = Environment(platform="local", device="cpu", device_name="CPU", bf16=False, online=False,
                      offline_reason="HF_HUB_OFFLINE=1", profile="quick", profile_reason="test")
TINY_RUN = {"train_rows": 4, "steps": 1, "batch": 2, "micro_batch": 2, "eval_rows": 0}


def _lesson2_code(notebook: Path = LESSON2) -> ast.Module:
    cells = json.loads(notebook.read_text())["cells"]
    return ast.parse("\n".join(without_magics("".join(cell["source"])) for cell in cells if cell["cell_type"] == "code"))


def _call_keywords(tree: ast.Module, function: str) -> dict:
    """Return the literal keyword arguments of the calls to `function` (a name or an attribute) in the code."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and function in (getattr(node.func, "id", None), getattr(node.func, "attr", None)):
            found |= {k.arg: k.value.value for k in node.keywords if k.arg and isinstance(k.value, ast.Constant)}
    return found


def test_lesson_2_writes_out_the_recipes_settings():
    # Lesson 2 spells SFTConfig's settings out, for the learner to read; they must be the recipe's.
    written = _call_keywords(_lesson2_code(), "SFTConfig")
    assert {key: written.get(key) for key in SETTINGS} == SETTINGS
    assert _call_keywords(_lesson2_code(), "shuffle") == {"seed": SHUFFLE_SEED}


def test_lesson_2b_writes_out_the_recipes_lora_settings():
    assert _call_keywords(_lesson2_code(LESSON2B), "LoraConfig") == recipe.LORA_SETTINGS
    assert _call_keywords(_lesson2_code(LESSON2B), "replace")["learning_rate"] == recipe.LORA_LEARNING_RATE


def test_lesson_2_reads_its_run_from_the_recipe():
    names = {node.id for node in ast.walk(_lesson2_code()) if isinstance(node, ast.Name)}
    assert "RUNS" in names and not any(isinstance(node, ast.Dict) and len(node.keys) == len(RUNS) and
                                       all(isinstance(k, ast.Constant) and k.value in RUNS for k in node.keys)
                                       for node in ast.walk(_lesson2_code())), "lesson 2 has a RUN table of its own"


def test_loras_learning_rate_is_the_one_its_sweep_chose_for_lesson_2bs_adapter():
    # helpers.recipe.LORA_LEARNING_RATE cites benchmarks/lora_learning_rate.py: its stored result must have chosen
    # it, for the LoraConfig lesson 2b trains.
    sweep = json.loads(LORA_SWEEP.read_text())
    assert sweep["best_learning_rate"] == recipe.LORA_LEARNING_RATE
    assert sweep["split for choosing"] == "validation"
    assert _call_keywords(_lesson2_code(LESSON2B), "LoraConfig") == sweep["lora_config"]


def test_every_profile_sets_the_same_keys_and_sees_each_row_once():
    keys = {profile: set(run) for profile, run in RUNS.items()}
    assert len({frozenset(k) for k in keys.values()}) == 1, keys
    for profile, run in RUNS.items():
        assert run["train_rows"] == run["steps"] * run["batch"], f"{profile}: one epoch"
        assert run["batch"] % run["micro_batch"] == 0, f"{profile}: micro-batches add up to the batch"


@pytest.mark.parametrize("profile", RUNS)
def test_the_config_accumulates_to_the_profiles_batch(profile, tmp_path):
    env = dataclasses.replace(CPU_ENV, profile=profile)
    config = sft_config(env, tmp_path)
    assert config.max_steps == RUNS[profile]["steps"]
    assert config.per_device_train_batch_size * config.gradient_accumulation_steps == RUNS[profile]["batch"]
    assert config.use_cpu and config.report_to in ("none", ["none"], [])


def test_training_rows_are_the_shuffled_training_rows_and_first_validation_rows_without_system_prompt():
    train, validation = recipe.training_rows(8, 3)
    expected_train = load_support_desk("train").shuffle(seed=SHUFFLE_SEED).select(range(8))
    assert [row["id"] for row in train] == [row["id"] for row in expected_train]
    assert [row["id"] for row in validation] == [row["id"] for row in load_support_desk("validation").select(range(3))]
    for row, original in zip(train, expected_train):
        assert row["messages"] == [message for message in original["messages"] if message["role"] != "system"]


# ── the recipe key ───────────────────────────────────────────────────────────────────────────────


def test_the_key_changes_with_what_shapes_the_model_and_nothing_else(training_tokenizer, tmp_path):
    rows, unused = recipe.training_rows(4, 0)
    config = sft_config(CPU_ENV, tmp_path, TINY_RUN)
    key = recipe.recipe_key(config, rows, training_tokenizer.chat_template, "base")
    shaping = [{"learning_rate": 1e-4}, {"max_steps": 2}, {"seed": 1}, {"eos_token": None}, {"bf16": True}]
    for change in shaping:
        assert recipe.recipe_key(dataclasses.replace(config, **change), rows, training_tokenizer.chat_template, "base") != key, change
    assert recipe.recipe_key(config, recipe.training_rows(5, 0)[0], training_tokenizer.chat_template, "base") != key
    assert recipe.recipe_key(config, rows, training_tokenizer.chat_template + " ", "base") != key
    assert recipe.recipe_key(config, rows, training_tokenizer.chat_template, "another base") != key
    for change in ({"output_dir": str(tmp_path / "elsewhere")}, {"logging_steps": 1}, {"disable_tqdm": True}):
        assert recipe.recipe_key(dataclasses.replace(config, **change), rows, training_tokenizer.chat_template, "base") == key


def test_a_trainer_built_as_lesson_2_builds_it_has_the_key_later_lessons_expect(base_model_and_tokenizer, tmp_path):
    from trl import SFTTrainer

    model, tokenizer = (copy.deepcopy(part) for part in base_model_and_tokenizer)
    train_rows, unused = recipe.training_rows(TINY_RUN["train_rows"], 0)
    trainer = SFTTrainer(model=model, args=sft_config(CPU_ENV, tmp_path, TINY_RUN), train_dataset=train_rows, processing_class=tokenizer)
    assert trainer_key(trainer) == expected_key(CPU_ENV, TINY_RUN)


def test_a_lora_trainer_built_as_lesson_2b_builds_it_has_the_key_lesson_4_expects(base_model_and_tokenizer, tmp_path):
    from trl import SFTTrainer

    model, tokenizer = (copy.deepcopy(part) for part in base_model_and_tokenizer)
    train_rows, unused = recipe.training_rows(TINY_RUN["train_rows"], 0)
    config = dataclasses.replace(sft_config(CPU_ENV, tmp_path, TINY_RUN), learning_rate=recipe.LORA_LEARNING_RATE)
    lora = recipe.lora_config()
    trainer = SFTTrainer(model=model, args=config, train_dataset=train_rows, processing_class=tokenizer, peft_config=lora)
    assert lora.target_modules != "all-linear"  # peft resolved it in place: why lora_config() returns a fresh one
    assert trainer_key(trainer) == expected_key(CPU_ENV, TINY_RUN, lora=True) != expected_key(CPU_ENV, TINY_RUN)


def test_the_adapters_key_changes_with_its_rank(monkeypatch):
    key = expected_key(CPU_ENV, TINY_RUN, lora=True)
    monkeypatch.setitem(recipe.LORA_SETTINGS, "r", 8)
    assert expected_key(CPU_ENV, TINY_RUN, lora=True) != key


def test_lesson_2s_output_is_used_when_its_recipe_is_todays(tmp_path, monkeypatch):
    (tmp_path / recipe.RECIPE_FILE).write_text(json.dumps({"key": expected_key(CPU_ENV, TINY_RUN)}))
    monkeypatch.setattr(recipe, "cache_dir", lambda: pytest.fail("lesson 2's model is there: nothing to train"))
    folder, origin = fine_tuned_model_dir(CPU_ENV, tmp_path, TINY_RUN)
    assert folder == tmp_path and "lesson 2's output" in origin


def test_lesson_2s_output_from_another_recipe_is_not_used(tmp_path, monkeypatch):
    (tmp_path / recipe.RECIPE_FILE).write_text(json.dumps({"key": "a-stale-recipe"}))
    cached = tmp_path / "cache" / "models" / f"{recipe.CACHED_MODEL_PREFIX}{expected_key(CPU_ENV, TINY_RUN)}"
    cached.mkdir(parents=True)
    (cached / recipe.RECIPE_FILE).write_text(json.dumps({"key": expected_key(CPU_ENV, TINY_RUN)}))
    monkeypatch.setattr(recipe, "cache_dir", lambda: tmp_path / "cache")
    folder, origin = fine_tuned_model_dir(CPU_ENV, tmp_path, TINY_RUN)
    assert folder == cached and "trained earlier" in origin and "another recipe" in origin


@pytest.mark.slow
def test_the_model_is_trained_once_then_cached_and_a_changed_setting_trains_a_new_one(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(recipe, "cache_dir", lambda: tmp_path / "cache")
    folder, origin = fine_tuned_model_dir(CPU_ENV, tmp_path / "lesson-2-never-ran", TINY_RUN)
    assert "trained just now" in origin and "training its run now (1 steps of 2 conversations" in capsys.readouterr().out
    assert (folder / "model.safetensors").exists() and (folder / "chat_template.jinja").exists()
    assert read_run_summary(folder)["trainable parameters (M)"] > 100  # every weight: full fine-tuning
    # Lesson 4 generates with it: it must stop at the end of the turn on its own, as lesson 2's model does.
    assert 2 in json.loads((folder / "generation_config.json").read_text())["eos_token_id"]  # <|im_end|>
    again, origin = fine_tuned_model_dir(CPU_ENV, tmp_path / "lesson-2-never-ran", TINY_RUN)
    assert again == folder and "trained earlier because lesson 2 had not run" in origin

    monkeypatch.setitem(recipe.SETTINGS, "learning_rate", SETTINGS["learning_rate"] / 2)
    changed, origin = fine_tuned_model_dir(CPU_ENV, tmp_path / "lesson-2-never-ran", TINY_RUN)
    assert changed != folder and "trained just now" in origin
    assert json.loads((changed / recipe.RECIPE_FILE).read_text())["settings"]["learning_rate"] == SETTINGS["learning_rate"]


@pytest.mark.slow
def test_the_adapter_is_trained_once_then_cached_and_loads_onto_the_base_model(tmp_path, monkeypatch, capsys):
    from peft import PeftModel

    from helpers.models import load_model_and_tokenizer

    monkeypatch.setattr(recipe, "cache_dir", lambda: tmp_path / "cache")
    folder, origin = recipe.adapter_dir(CPU_ENV, tmp_path / "lesson-2b-never-ran", TINY_RUN)
    assert "trained just now because lesson 2b had not run" in origin and "The model of lesson 2b is not here" in capsys.readouterr().out
    assert folder.name.startswith(recipe.CACHED_ADAPTER_PREFIX) and (folder / "adapter_config.json").exists()
    assert not (folder / "model.safetensors").exists()  # the adapter alone, not the model
    assert read_run_summary(folder)["trainable parameters (M)"] < 10
    adapted = PeftModel.from_pretrained(load_model_and_tokenizer("base", verbose=False)[0], folder)
    assert any("lora_B" in name for name, unused in adapted.named_parameters())
    again, origin = recipe.adapter_dir(CPU_ENV, tmp_path / "lesson-2b-never-ran", TINY_RUN)
    assert again == folder and "trained earlier" in origin


@pytest.mark.slow
def test_an_interrupted_cache_is_not_reused_and_the_next_call_rebuilds_it(tmp_path, monkeypatch):
    monkeypatch.setattr(recipe, "cache_dir", lambda: tmp_path / "cache")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C (or a full disk) in the middle of writing the cache

    with monkeypatch.context() as during_the_save:
        during_the_save.setattr(recipe, "save_recipe", interrupted)
        with pytest.raises(KeyboardInterrupt):
            fine_tuned_model_dir(CPU_ENV, tmp_path / "lesson-2-never-ran", TINY_RUN)
    assert list((tmp_path / "cache" / "models").iterdir()) == []  # no half-written cache, no staging folder
    folder, origin = fine_tuned_model_dir(CPU_ENV, tmp_path / "lesson-2-never-ran", TINY_RUN)
    assert "trained just now" in origin and read_run_summary(folder)["trainable parameters (M)"] > 100


def test_save_recipe_writes_the_trainers_key(base_model_and_tokenizer, tmp_path):
    from trl import SFTTrainer

    model, tokenizer = (copy.deepcopy(part) for part in base_model_and_tokenizer)
    train_rows, unused = recipe.training_rows(TINY_RUN["train_rows"], 0)
    trainer = SFTTrainer(model=model, args=sft_config(CPU_ENV, tmp_path, TINY_RUN), train_dataset=train_rows, processing_class=tokenizer)
    save_recipe(trainer, tmp_path)
    assert recipe.saved_key(tmp_path) == trainer_key(trainer)
    assert recipe.saved_key(tmp_path / "nothing-here") is None
