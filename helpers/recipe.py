"""Lesson 2's recipe, in one place: the runs by profile, the SFTConfig settings, the rows, and the model it saves;
and lesson 2b's LoRA variant of it, with the adapter it saves.

Lessons 2 and 2b write these values out in their own cells, where the learner reads them (tests/test_recipe.py
checks that they are these); lesson 4, the solutions, the exercises and the benchmarks read them from here.
A model or adapter trained by the recipe carries a key (recipe.json beside its weights): a hash of
everything that shapes it, so a changed setting never reuses a stale one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import datasets
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedTokenizerBase, PrinterCallback, Trainer
from trl import SFTConfig, SFTTrainer

from helpers.chat_format import chat_format
from helpers.course import CACHED_ADAPTER_PREFIX, CACHED_MODEL_PREFIX
from helpers.data import load_support_desk, without_system_prompt
from helpers.environment import Environment
from helpers.i18n import _
from helpers.measurements import PeakMemory, run_summary, save_run_summary
from helpers.models import cache_dir, load_model_and_tokenizer, load_tokenizer, prepare_model_location, staged_folder
from helpers.templates import set_training_template
from helpers.training import pick_precision

# The size of lesson 2's run in each profile (helpers.environment picks the profile).
# steps: optimizer steps of `batch` conversations each, in micro-batches of `micro_batch`;
# train_rows = steps x batch: every conversation is seen once (one epoch);
# eval_rows: validation prompts lesson 2 generates replies for, before and after training;
# prompted_rows: the first of them, for the prompted instruct model.
RUNS = {
    "quick": {"train_rows": 240, "steps": 60, "batch": 4, "micro_batch": 4, "eval_rows": 64, "prompted_rows": 8},
    "lesson": {"train_rows": 1000, "steps": 125, "batch": 8, "micro_batch": 8, "eval_rows": 100, "prompted_rows": 16},
    "demo": {"train_rows": 48, "steps": 12, "batch": 4, "micro_batch": 4, "eval_rows": 16, "prompted_rows": 4},
}
SHUFFLE_SEED = 42  # the training rows are the first train_rows of the training split shuffled with it

# SFTConfig's settings in every profile (and eos_token: the model's end of turn, read by sft_config).
SETTINGS = {
    "learning_rate": 4e-4,
    "lr_scheduler_type": "cosine",
    "warmup_steps": 0,
    "assistant_only_loss": True,
    "activation_checkpointing": False,
    "logging_steps": 5,
    "logging_first_step": True,  # step 1's loss is the untrained model's: LoRA's and full fine-tuning's agree there
    "seed": 42,
}

# Lesson 2b's LoRA adapter (its LoraConfig) and its learning rate; the rest of SETTINGS stays.
LORA_SETTINGS = {"r": 16, "lora_alpha": 32, "lora_dropout": 0.0, "target_modules": "all-linear", "task_type": "CAUSAL_LM"}
# LoRA's learning rate on this recipe (lesson 2b: the same rows, steps and schedule, LoRA r=16 on every linear
# layer). An adapter starts at zero and needs a larger step than full fine-tuning's 4e-4. benchmarks/lora_learning_rate.py
# chose it on 64 validation prompts from 2e-3, 4e-3 and 8e-3 (content 0.48, 0.66, 0.45; both neighbours lower with
# paired intervals clear of zero): results/lora_learning_rate.json, and README's "LoRA against full fine-tuning".
LORA_LEARNING_RATE = 4e-3
# LoraConfig fields that change the trained adapter.
ADAPTER_FIELDS = ("r", "lora_alpha", "lora_dropout", "target_modules", "bias", "use_rslora", "init_lora_weights")

MODEL_FOLDER = "outputs/smollm2-support-desk"  # where lesson 2 saves its model, relative to the notebook's folder
ADAPTER_FOLDER = "outputs/smollm2-support-desk-lora"  # where lesson 2b saves its adapter, relative to the notebook's folder
RECIPE_FILE = "recipe.json"  # beside a model trained by the recipe: its key and what went into it
# SFTConfig fields that change the trained weights; the rest (where to log, what to save) do not.
SHAPING_FIELDS = (
    "learning_rate", "lr_scheduler_type", "warmup_steps", "weight_decay", "max_grad_norm", "max_steps",
    "num_train_epochs", "per_device_train_batch_size", "gradient_accumulation_steps", "assistant_only_loss",
    "completion_only_loss", "eos_token", "max_length", "packing", "padding_free", "seed", "bf16", "fp16",
)


def run_for(env: Environment) -> dict:
    """Return lesson 2's run (a RUNS entry) for the environment's profile."""
    return RUNS[env.profile]


def training_rows(train_rows: int, eval_rows: int) -> tuple[datasets.Dataset, datasets.Dataset]:
    """Return lesson 2's first train_rows training rows (shuffled) and first eval_rows validation rows, without the system prompt."""
    support_desk = load_support_desk()
    train = support_desk["train"].shuffle(seed=SHUFFLE_SEED).select(range(train_rows))
    validation = support_desk["validation"].select(range(eval_rows))
    return train.map(without_system_prompt), validation.map(without_system_prompt)


def sft_config(
    env: Environment, output_dir: str | Path, run: dict | None = None, tokenizer: PreTrainedTokenizerBase | None = None
) -> SFTConfig:
    """Return lesson 2's SFTConfig for a run (the profile's unless given), precision picked for this hardware.

    Its eos_token is the end of turn of the tokenizer's chat format (of the course's base model when no
    tokenizer is given): TRL makes it the tokenizer's eos and adds it to the model's generation config,
    so the trained model stops at the end of its turn, where a base model's config stops only at the end
    of a document.
    """
    run = run or run_for(env)
    tokenizer = tokenizer or load_tokenizer("base", verbose=False)
    return SFTConfig(
        output_dir=str(output_dir),
        max_steps=run["steps"],
        per_device_train_batch_size=run["micro_batch"],
        gradient_accumulation_steps=run["batch"] // run["micro_batch"],
        save_strategy="no",
        report_to="none",
        use_cpu=env.device == "cpu",
        **SETTINGS,
        eos_token=chat_format(tokenizer).eos_token,
        **pick_precision(env)[0],
    )


def lora_config() -> LoraConfig:
    """Return lesson 2b's LoraConfig (a fresh one: peft writes into the config it is given)."""
    return LoraConfig(**LORA_SETTINGS)


def lora_sft_config(
    env: Environment, output_dir: str | Path, run: dict | None = None, tokenizer: PreTrainedTokenizerBase | None = None
) -> SFTConfig:
    """Return lesson 2b's SFTConfig: lesson 2's, with LoRA's learning rate."""
    return dataclasses.replace(sft_config(env, output_dir, run, tokenizer), learning_rate=LORA_LEARNING_RATE)


def adapter_settings(config: LoraConfig) -> dict:
    """Return the LoraConfig fields that shape an adapter, with the target modules as peft resolved them (a sorted list)."""
    values = {field: getattr(config, field) for field in ADAPTER_FIELDS}
    if isinstance(values["target_modules"], (set, list, tuple)):
        values["target_modules"] = sorted(values["target_modules"])
    return values


def recipe_key(
    config: SFTConfig, rows: datasets.Dataset, chat_template: str, base_model: str, adapter: dict | None = None
) -> str:
    """Return a short hash of what shapes a trained model: the settings, the training rows, the template, the base model (and adapter)."""
    shaping = {field: getattr(config, field) for field in SHAPING_FIELDS}
    parts = [shaping, rows["messages"], chat_template, base_model] + ([adapter] if adapter is not None else [])
    content = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(content.encode()).hexdigest()[:16]


def trainer_key(trainer: Trainer) -> str:
    """Return the recipe key of a trainer's run (recipe_key of its settings, rows, template, base model and any LoRA adapter)."""
    peft_configs = getattr(trainer.model, "peft_config", None)
    adapter = adapter_settings(peft_configs["default"]) if peft_configs else None
    base_model = trainer.model.config.name_or_path
    return recipe_key(trainer.args, trainer.train_dataset, trainer.processing_class.chat_template, base_model, adapter)


def expected_key(env: Environment, run: dict, lora: bool = False) -> str:
    """Return the recipe key of lesson 2's run here (lesson 2b's LoRA run if lora): what trainer_key gives for its trainer."""
    tokenizer = set_training_template(load_tokenizer("base", verbose=False))
    train_rows, unused = training_rows(run["train_rows"], 0)
    base_model = prepare_model_location("base")[0]
    if not lora:
        return recipe_key(sft_config(env, "unused", run, tokenizer), train_rows, tokenizer.chat_template, base_model)
    # peft resolves "all-linear" to the model's own layer names: on an empty (meta) copy of it, no weights loaded.
    with torch.device("meta"):
        empty = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(base_model))
    resolved = get_peft_model(empty, lora_config()).peft_config["default"]
    config = lora_sft_config(env, "unused", run, tokenizer)
    return recipe_key(config, train_rows, tokenizer.chat_template, base_model, adapter_settings(resolved))


def save_recipe(trainer: Trainer, folder: str | Path) -> Path:
    """Return the path of recipe.json, written beside the model the trainer saved: its key and settings."""
    path = Path(folder) / RECIPE_FILE
    shaping = {field: getattr(trainer.args, field) for field in SHAPING_FIELDS}
    path.write_text(json.dumps({"key": trainer_key(trainer), "settings": shaping}, indent=1, default=str) + "\n")
    return path


def saved_key(folder: str | Path) -> str | None:
    """Return the recipe key saved beside a model, or None where there is none."""
    path = Path(folder) / RECIPE_FILE
    return json.loads(path.read_text())["key"] if path.exists() else None


def fine_tuned_model_dir(env: Environment, lesson2_folder: str | Path = MODEL_FOLDER, run: dict | None = None) -> tuple[Path, str]:
    """Return the folder of lesson 2's model for this profile's run (or the given run) and where it came from.

    That is lesson2_folder when lesson 2 saved it there with today's recipe; otherwise the course cache,
    keyed by the recipe, trained once when missing.
    """
    return _recipe_folder(env, Path(lesson2_folder), run or run_for(env), lora=False)


def adapter_dir(env: Environment, lesson2b_folder: str | Path = ADAPTER_FOLDER, run: dict | None = None) -> tuple[Path, str]:
    """Return the folder of lesson 2b's LoRA adapter for this profile's run (or the given run) and where it came from.

    As fine_tuned_model_dir: lesson 2b's output when its recipe is today's, else the course cache, trained once when missing.
    """
    return _recipe_folder(env, Path(lesson2b_folder), run or run_for(env), lora=True)


def _recipe_folder(env: Environment, lesson_folder: Path, run: dict, lora: bool) -> tuple[Path, str]:
    """Return the folder of the recipe's model (or LoRA adapter) and where it came from; train and cache it when missing."""
    key = expected_key(env, run, lora)
    lesson = _("lesson 2b") if lora else _("lesson 2")
    saved = saved_key(lesson_folder)
    if saved == key:
        return lesson_folder, _("{lesson}'s output ({folder})").format(lesson=lesson, folder=lesson_folder.as_posix())
    why = (
        _("{lesson} had not run").format(lesson=lesson)
        if saved is None
        else _("{lesson}'s saved model was trained with another recipe (another profile, or changed settings)").format(lesson=lesson)
    )
    cached = cache_dir() / "models" / f"{CACHED_ADAPTER_PREFIX if lora else CACHED_MODEL_PREFIX}{key}"
    shown = str(cached).replace(str(Path.home()), "~")
    if saved_key(cached) == key:
        return cached, _("the course cache ({folder}), trained earlier because {why}").format(folder=shown, why=why)
    print(
        _(
            "The model of {lesson} is not here: training its run now ({steps} steps of {batch} conversations; "
            "about 4 minutes on a CPU in the quick profile), into {folder}"
        ).format(lesson=lesson, steps=run["steps"], batch=run["batch"], folder=shown)
    )
    model, tokenizer = load_model_and_tokenizer("base", verbose=False)
    set_training_template(tokenizer)
    train_rows, unused = training_rows(run["train_rows"], 0)
    shutil.rmtree(cached, ignore_errors=True)  # a cache interrupted before it was renamed into place
    with staged_folder(cached) as staging:
        config = (lora_sft_config if lora else sft_config)(env, staging / "run", run, tokenizer)
        trainer = SFTTrainer(
            model=model,
            args=dataclasses.replace(config, disable_tqdm=True),
            train_dataset=train_rows,
            processing_class=tokenizer,
            peft_config=lora_config() if lora else None,
        )
        trainer.remove_callback(PrinterCallback)
        with PeakMemory() as memory:
            trainer.train()
        trainer.save_model(str(staging))  # a LoRA run saves its adapter only
        save_run_summary(run_summary(trainer, memory.mib), staging)
        save_recipe(trainer, staging)
        shutil.rmtree(staging / "run", ignore_errors=True)
    return cached, _("the course cache ({folder}), trained just now because {why}").format(folder=shown, why=why)
