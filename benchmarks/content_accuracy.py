"""How fast SmolLM2-135M learns the support desk's *content* (category, policy) on this machine.

Each recipe fine-tunes the base model with SFTTrainer. At its checkpoints the training clock
stops, the model answers validation prompts (greedy, stopping at the end of the turn), and the
house-style scorer grades the replies. The table and the plot give category and policy accuracy
against training seconds; the last checkpoint of each recipe is also scored on test prompts.

  training s   seconds spent in training steps up to that checkpoint (evaluation excluded)
  format       the lowest of the five format criteria (greeting, both lines, sign-off, concise)

Usage (from the repository root; offline is fine; nothing else should run on the machine):
  .venv/bin/python benchmarks/content_accuracy.py                         # every recipe
  .venv/bin/python benchmarks/content_accuracy.py --recipes lesson2_full --output full   # some of them
  .venv/bin/python benchmarks/content_accuracy.py --combine old full ...  # one table and plot of earlier runs
Writes benchmarks/results/<output>.json and .png (default: content_accuracy) and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.environment import default_environment  # noqa: E402  (imports no Hugging Face library)

default_environment(Path(__file__).resolve().parent.parent / "offline.env")  # before they are imported

from helpers.recipe import RUNS, SETTINGS  # noqa: E402

QUICK = RUNS["quick"]

RESULTS = Path(__file__).resolve().parent / "results"
EVAL_ROWS = 64  # validation prompts scored at each checkpoint, and test prompts at the last
FORMAT = ("greeting", "category_line", "policy_line", "sign_off", "concise")

# Each recipe: SFTConfig arguments, rows and steps, whether rows keep the guidelines system prompt,
# and LoRA's rank (None: full fine-tuning).
RECIPES = {
    # Lesson 2 before issue 12: guidelines in every row, lr 1e-4, 8 conversations a step.
    "old": {"guidelines": True, "rows": 240, "batch": 8, "micro_batch": 2, "steps": 12, "lora": None,
            "config": {"learning_rate": 1e-4, "lr_scheduler_type": "cosine", "warmup_steps": 2},
            "checkpoints": (12,)},
    # Explored on the way (no guidelines from here on).
    "lr8e-4_b4": {"guidelines": False, "rows": 400, "batch": 4, "micro_batch": 2, "steps": 28, "lora": None,
                  "config": {"learning_rate": 8e-4, "lr_scheduler_type": "cosine", "warmup_steps": 0},
                  "checkpoints": (14, 21, 28)},
    "lr4e-4_b4_40steps": {"guidelines": False, "rows": 160, "batch": 4, "micro_batch": 2, "steps": 40, "lora": None,
                          "config": {"learning_rate": 4e-4, "lr_scheduler_type": "cosine", "warmup_steps": 0},
                          "checkpoints": (20, 30, 40)},
    "lr4e-4_b4_mb2": {"guidelines": False, "rows": 400, "batch": 4, "micro_batch": 2, "steps": 60, "lora": None,
                      "config": {"learning_rate": 4e-4, "lr_scheduler_type": "cosine", "warmup_steps": 0},
                      "checkpoints": (15, 30, 45, 60)},
    "lora_lr2e-3_40steps": {"guidelines": False, "rows": 160, "batch": 4, "micro_batch": 2, "steps": 40, "lora": 16,
                            "config": {"learning_rate": 2e-3, "lr_scheduler_type": "cosine", "warmup_steps": 0},
                            "checkpoints": (20, 30, 40)},
    "lora_lr4e-3_40steps": {"guidelines": False, "rows": 160, "batch": 4, "micro_batch": 2, "steps": 40, "lora": 16,
                            "config": {"learning_rate": 4e-3, "lr_scheduler_type": "cosine", "warmup_steps": 0},
                            "checkpoints": (20, 30, 40)},
    "lora_lr2e-3_80steps": {"guidelines": False, "rows": 320, "batch": 4, "micro_batch": 2, "steps": 80, "lora": 16,
                            "config": {"learning_rate": 2e-3, "lr_scheduler_type": "cosine", "warmup_steps": 0},
                            "checkpoints": (40, 60, 80)},
    # Lesson 2's quick profile today: full fine-tuning and LoRA (helpers.recipe's RUNS["quick"] and SETTINGS).
    "lesson2_full": {"guidelines": False, "rows": QUICK["train_rows"], "batch": QUICK["batch"],
                     "micro_batch": QUICK["micro_batch"], "steps": QUICK["steps"], "lora": None,
                     "config": {key: SETTINGS[key] for key in ("learning_rate", "lr_scheduler_type", "warmup_steps")},
                     "checkpoints": (20, 40, 60)},
    "lesson2_lora": {"guidelines": False, "rows": QUICK["train_rows"], "batch": QUICK["batch"],
                     "micro_batch": QUICK["micro_batch"], "steps": QUICK["steps"], "lora": 16,
                     "config": {"learning_rate": 2e-3, "lr_scheduler_type": "cosine", "warmup_steps": 0},
                     "checkpoints": (20, 40, 60)},
}


def score(model, tokenizer, rows) -> dict[str, float]:
    """Return category, policy and format scores of the model's greedy replies to the rows."""
    from helpers.generation import reply_table
    from helpers.house_style import score_replies

    table = reply_table(model, tokenizer, rows, max_new_tokens=96, batch_size=32, progress=False)
    scores = score_replies(table["reply"].tolist(), rows)
    return {"category": scores["category_correct"], "policy": scores["policy_correct"],
            "format": min(scores[name] for name in FORMAT)}


def run_recipe(name: str) -> list[dict]:
    """Train one recipe, scoring at its checkpoints; return one record per checkpoint."""
    import torch
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from helpers.chat_format import chat_format
    from helpers.data import load_support_desk, without_system_prompt
    from helpers.environment import detect
    from helpers.models import load_model_and_tokenizer
    from helpers.templates import set_training_template
    from helpers.training import pick_precision

    recipe = RECIPES[name]
    splits = load_support_desk()
    if not recipe["guidelines"]:
        splits = splits.map(without_system_prompt)
    train_rows = splits["train"].shuffle(seed=42).select(range(recipe["rows"]))
    validation_rows = splits["validation"].select(range(EVAL_ROWS))
    test_rows = splits["test"].select(range(EVAL_ROWS))
    model, tokenizer = load_model_and_tokenizer("base", verbose=False)
    set_training_template(tokenizer)
    records: list[dict] = []

    class Checkpoints(TrainerCallback):
        """Stops the training clock at each checkpoint to score the model."""

        def on_train_begin(self, args, state, control, **kwargs):
            self.started, self.paused = time.perf_counter(), 0.0

        def on_step_end(self, args, state, control, model=None, **kwargs):
            if state.global_step not in recipe["checkpoints"]:
                return
            seconds = time.perf_counter() - self.started - self.paused
            pause = time.perf_counter()
            record = {"recipe": name, "step": state.global_step,
                      "rows_seen": state.global_step * recipe["batch"], "training_s": round(seconds, 1),
                      **{f"validation_{k}": v for k, v in score(model, tokenizer, validation_rows).items()}}
            if state.global_step == recipe["steps"]:
                record |= {f"test_{k}": v for k, v in score(model, tokenizer, test_rows).items()}
            model.train()
            records.append(record)
            print(json.dumps(record), flush=True)
            self.paused += time.perf_counter() - pause

    with tempfile.TemporaryDirectory() as output_dir:
        config = SFTConfig(
            output_dir=output_dir, max_steps=recipe["steps"], per_device_train_batch_size=recipe["micro_batch"],
            gradient_accumulation_steps=recipe["batch"] // recipe["micro_batch"], assistant_only_loss=True,
            eos_token=chat_format(tokenizer).eos_token, activation_checkpointing=False, logging_steps=5, save_strategy="no",
            report_to="none",
            disable_tqdm=True, seed=42, use_cpu=not torch.cuda.is_available(),
            **recipe["config"], **pick_precision(detect())[0],
        )
        lora = None
        if recipe["lora"]:
            lora = LoraConfig(r=recipe["lora"], lora_alpha=2 * recipe["lora"], target_modules="all-linear",
                              task_type="CAUSAL_LM")
        trainer = SFTTrainer(model=model, args=config, train_dataset=train_rows, processing_class=tokenizer,
                             peft_config=lora, callbacks=[Checkpoints()])
        trainer.train()
    return records


def plot(records: list[dict], path: Path) -> None:
    """Save category and policy accuracy against training seconds, one line per recipe."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    for axis, field in zip(axes, ("category", "policy")):
        for name in dict.fromkeys(r["recipe"] for r in records):
            points = [r for r in records if r["recipe"] == name]
            axis.plot([r["training_s"] for r in points], [r[f"validation_{field}"] for r in points], "o-", label=name)
        axis.set(title=f"{field} correct (validation, {EVAL_ROWS} prompts)", xlabel="training seconds", ylim=(0, 1.02))
    axes[0].set_ylabel("fraction of replies")
    axes[1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def markdown(records: list[dict]) -> str:
    """Return the records as a Markdown table."""
    lines = ["| recipe | step | rows seen | training s | category | policy | format | test category | test policy |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        test = [f"{r[k]:.2f}" if k in r else "" for k in ("test_category", "test_policy")]
        lines.append(f"| {r['recipe']} | {r['step']} | {r['rows_seen']} | {r['training_s']:.0f} | "
                     f"{r['validation_category']:.2f} | {r['validation_policy']:.2f} | {r['validation_format']:.2f} | "
                     f"{test[0]} | {test[1]} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", choices=sorted(RECIPES), default=list(RECIPES))
    parser.add_argument("--output", default="content_accuracy", help="file name (no suffix) under benchmarks/results/")
    parser.add_argument("--combine", nargs="+", metavar="NAME", help="train nothing: join earlier results/NAME.json files")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if args.combine:
        records = [record for name in args.combine for record in json.loads((RESULTS / f"{name}.json").read_text())]
    else:
        records = [record for name in args.recipes for record in run_recipe(name)]
    (RESULTS / f"{args.output}.json").write_text(json.dumps(records, indent=1) + "\n")
    plot(records, RESULTS / f"{args.output}.png")
    print(markdown(records))


if __name__ == "__main__":
    main()
