"""Training for the lessons: precision from the hardware, lesson 2's settings, and lesson 2's model for later lessons."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from transformers import PreTrainedModel, PrinterCallback, Trainer
from trl import SFTConfig, SFTTrainer

from helpers.data import lesson2_rows
from helpers.environment import Environment
from helpers.i18n import _
from helpers.measurements import RUN_SUMMARY_FILE, PeakMemory, run_summary, save_run_summary
from helpers.models import cache_dir, load_model_and_tokenizer, staged_folder
from helpers.templates import END_OF_TURN, set_training_template


def pick_precision(env: Environment) -> tuple[dict[str, bool], str]:
    """Return SFTConfig's precision flags for this hardware ({"bf16": ..., "fp16": ...}) and the reason."""
    if env.device == "cuda" and env.bf16:
        return {"bf16": True, "fp16": False}, _("{device} supports bf16").format(device=env.device_name)
    if env.device == "cuda":
        reason = _("{device} has no bf16 (a Colab T4, say): fp16 mixed precision").format(device=env.device_name)
        return {"bf16": False, "fp16": True}, reason
    if env.device == "cpu" and env.bf16:
        return {"bf16": True, "fp16": False}, _("this CPU computes bf16 natively (AMX or AVX512-BF16): bf16 autocast")
    return {"bf16": False, "fp16": False}, _("no fast half precision on this {device}: float32").format(device=env.device_name)


def without_autocast(trainer: Trainer) -> PreTrainedModel:
    """Return the trainer's model computing in its own precision again: train() leaves mixed precision's autocast on its forward."""
    # accelerate wraps the model's forward in torch.autocast for bf16/fp16 training and leaves it there, so
    # a model scored in the training session would compute in 16 bits, and a copy reloaded from disk not.
    return trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)


# Where the course caches lesson 2's model when a later lesson needs it and lesson 2 has not run.
CACHED_MODEL_PREFIX = "smollm2-support-desk"  # then "-<rows>-rows", one folder per size of lesson 2's run
# Lesson 2's quick profile, as its RUN and SFTConfig cells set it (tests/test_training.py checks they agree).
QUICK_RUN = {"train_rows": 240, "steps": 60, "batch": 4, "micro_batch": 4}
QUICK_SETTINGS = {
    "learning_rate": 4e-4,
    "lr_scheduler_type": "cosine",
    "warmup_steps": 0,
    "assistant_only_loss": True,
    # TRL makes this the tokenizer's eos and adds it to the model's generation config, so the trained
    # model stops at the end of its turn: a base model's config stops only at <|endoftext|>.
    "eos_token": END_OF_TURN,
    "activation_checkpointing": False,
    "logging_steps": 5,
    "logging_first_step": True,  # step 1's loss is the untrained model's: LoRA's and full fine-tuning's agree there
    "seed": 42,
}


def lesson2_config(env: Environment, output_dir: str | Path, run: dict | None = None) -> SFTConfig:
    """Return the SFTConfig of lesson 2's full fine-tuning for a RUN entry (QUICK_RUN unless given), precision picked for this hardware."""
    run = run or QUICK_RUN
    return SFTConfig(
        output_dir=str(output_dir),
        max_steps=run["steps"],
        per_device_train_batch_size=run["micro_batch"],
        gradient_accumulation_steps=run["batch"] // run["micro_batch"],
        save_strategy="no",
        report_to="none",
        use_cpu=env.device == "cpu",
        **QUICK_SETTINGS,
        **pick_precision(env)[0],
    )


def fine_tuned_model_dir(env: Environment, lesson2_folder: str | Path, run: dict | None = None) -> tuple[Path, str]:
    """Return the folder of lesson 2's model (lesson2_folder, where lesson 2 saved it) and where it came from.

    When lesson 2 has not run, trains its run (QUICK_RUN unless given) into the course cache, once.
    """
    lesson2_folder = Path(lesson2_folder)
    if (lesson2_folder / "model.safetensors").exists():
        return lesson2_folder, _("lesson 2's output ({folder})").format(folder=lesson2_folder.as_posix())
    run = run or QUICK_RUN
    cached = cache_dir() / "models" / f"{CACHED_MODEL_PREFIX}-{run['train_rows']}-rows"
    shown = str(cached).replace(str(Path.home()), "~")
    if (cached / RUN_SUMMARY_FILE).exists():
        return cached, _("the course cache ({folder}), trained earlier because lesson 2 had not run").format(folder=shown)
    print(
        _(
            "Lesson 2's model is not here: training its run now ({steps} steps of {batch} conversations; "
            "about 4 minutes on a CPU in the quick profile), into {folder}"
        ).format(steps=run["steps"], batch=run["batch"], folder=shown)
    )
    model, tokenizer = load_model_and_tokenizer("base", verbose=False)
    set_training_template(tokenizer)
    train_rows, unused = lesson2_rows(run["train_rows"], 0)
    shutil.rmtree(cached, ignore_errors=True)  # a cache from before run summaries were saved
    with staged_folder(cached) as staging:
        trainer = SFTTrainer(
            model=model,
            args=dataclasses.replace(lesson2_config(env, staging / "run", run), disable_tqdm=True),
            train_dataset=train_rows,
            processing_class=tokenizer,
        )
        trainer.remove_callback(PrinterCallback)
        with PeakMemory() as memory:
            trainer.train()
        trainer.save_model(str(staging))
        save_run_summary(run_summary(trainer, memory.mib), staging)
        shutil.rmtree(staging / "run", ignore_errors=True)
    return cached, _("the course cache ({folder}), trained just now because lesson 2 had not run").format(folder=shown)
