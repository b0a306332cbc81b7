"""Is the bookings task (helpers.bookings) learnable by SmolLM2-135M on a CPU, and does fine-tuning beat prompting it?

The base model is fine-tuned with lesson 2's recipe (helpers.recipe: its SFTConfig settings, the quick
profile's run of 60 steps of 4 conversations, the training rows drawn the way lesson 2 draws them; rows
without the system prompt, as lesson 2 feeds the support desk). At each checkpoint the training clock
stops and the model answers the validation prompts (greedy, stopping at the end of the turn); each reply
is judged field by field by helpers.task_checks.json_fields. After training, the model (out of the
trainer's bf16 autocast, as the lessons score it) answers the validation and the test prompts; the test
prompts are worded with templates the training rows never use.

On the same test prompts: the instruct model prompted with the task's instruction, zero-shot and with a
few training conversations (helpers.baselines, one example per template), and the most common value of
each field (no model). Every rate has its 95% Wilson interval; the fine-tune's content (all four fields
right) and each field are paired with the few-shot prompt's (bootstrap over the same prompts).

Usage (from the repository root; offline is fine; nothing else should run on the machine):
  .venv/bin/python benchmarks/bookings_curve.py
  .venv/bin/python benchmarks/bookings_curve.py --steps 40 --checkpoints 10 20 30 40
Writes benchmarks/results/bookings_curve.json and prints Markdown tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.environment import default_environment  # noqa: E402  (imports no Hugging Face library)

default_environment(Path(__file__).resolve().parent.parent / "offline.env")  # before they are imported

import pandas as pd  # noqa: E402
import torch  # noqa: E402
from transformers import PrinterCallback, TrainerCallback  # noqa: E402
from trl import SFTTrainer  # noqa: E402

from helpers.baselines import few_shot_examples, prompted_conversations  # noqa: E402
from helpers.bookings import SYSTEM_PROMPT  # noqa: E402
from helpers.data import load_bookings, without_system_prompt  # noqa: E402
from helpers.environment import detect  # noqa: E402
from helpers.generation import generate_turns, prompt_messages  # noqa: E402
from helpers.intervals import paired_difference, rates_with_intervals  # noqa: E402
from helpers.models import load_model_and_tokenizer  # noqa: E402
from helpers.recipe import RUNS, SHUFFLE_SEED, sft_config  # noqa: E402
from helpers.task_checks import most_common_record, outcome_table, reference_replies  # noqa: E402
from helpers.templates import set_training_template  # noqa: E402
from helpers.training import without_autocast  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
MAX_NEW_TOKENS = 48  # a booking record is about 25 tokens
COLUMNS = ("format", "name_correct", "people_correct", "day_correct", "time_correct", "content")


def answered(model, tokenizer, conversations: list[list[dict]], references: list[str]) -> tuple[pd.DataFrame, dict]:
    """Return the replies' outcomes (json_fields) and what answering cost: seconds, mean prompt tokens, replies that never stopped."""
    texts = [tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False) for messages in conversations]
    prompt_tokens = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    start = time.perf_counter()
    turns = generate_turns(model, tokenizer, conversations, max_new_tokens=MAX_NEW_TOKENS, progress=False)
    cost = {
        "seconds": round(time.perf_counter() - start, 1),
        "prompt tokens (mean)": round(sum(prompt_tokens) / len(prompt_tokens)),
        "never stopped": sum(not ended for unused, ended in turns),
    }
    replies = [reply for reply, unused in turns]
    outcomes = outcome_table(replies, references)
    # The wrong replies, for error analysis: which message, what came back, what was expected.
    cost["wrong (first 12)"] = [
        {"message": messages[-1]["content"], "reply": reply, "reference": reference}
        for messages, reply, reference, right in zip(conversations, replies, references, outcomes["content"])
        if not right
    ][:12]
    return outcomes, cost


def rates(outcomes: pd.DataFrame) -> dict[str, list[float]]:
    """Return {outcome: [rate, low, high]}: each column's rate with its 95% Wilson interval."""
    table = rates_with_intervals(outcomes[[column for column in COLUMNS if column in outcomes]])
    return {column: [round(row[key], 3) for key in ("rate", "low", "high")] for column, row in table.iterrows()}


def shown(rate: list[float]) -> str:
    """Return [rate, low, high] as "0.91 (0.81–0.96)"."""
    return f"{rate[0]:.2f} ({rate[1]:.2f}–{rate[2]:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    quick = RUNS["quick"]
    parser.add_argument("--steps", type=int, default=quick["steps"], help="optimizer steps (the quick profile's by default)")
    parser.add_argument("--batch", type=int, default=quick["batch"], help="conversations a step (one micro-batch)")
    parser.add_argument("--checkpoints", type=int, nargs="+", default=None, help="steps to score validation at (default: every quarter)")
    parser.add_argument("--shots", type=int, default=5, help="training conversations in the few-shot prompt")
    parser.add_argument("--prompts", type=int, default=100, help="validation and test prompts to answer (each split has 100)")
    arguments = parser.parse_args()
    checkpoints = set(arguments.checkpoints or [arguments.steps * k // 4 for k in (1, 2, 3)])

    env = detect()
    run = {"train_rows": arguments.steps * arguments.batch, "steps": arguments.steps, "batch": arguments.batch,
           "micro_batch": arguments.batch, "eval_rows": arguments.prompts}
    splits = load_bookings()
    train = splits["train"].shuffle(seed=SHUFFLE_SEED).select(range(run["train_rows"])).map(without_system_prompt)
    validation = splits["validation"].select(range(arguments.prompts)).map(without_system_prompt)
    test = splits["test"].select(range(arguments.prompts)).map(without_system_prompt)
    validation_prompts = [prompt_messages(row["messages"]) for row in validation]
    test_prompts = [prompt_messages(row["messages"]) for row in test]
    validation_references, test_references = reference_replies(validation), reference_replies(test)

    model, tokenizer = load_model_and_tokenizer("base", verbose=False)
    set_training_template(tokenizer)
    curve: list[dict] = []

    class Checkpoints(TrainerCallback):
        """Stops the training clock at each checkpoint to score the model on the validation prompts."""

        def on_train_begin(self, args, state, control, **kwargs):
            self.started, self.paused = time.perf_counter(), 0.0

        def on_step_end(self, args, state, control, model=None, **kwargs):
            if state.global_step not in checkpoints and state.global_step != arguments.steps:
                return
            seconds = time.perf_counter() - self.started - self.paused
            record = {"step": state.global_step, "rows_seen": state.global_step * arguments.batch, "training_s": round(seconds, 1)}
            if state.global_step in checkpoints:
                pause = time.perf_counter()
                outcomes, cost = answered(model, tokenizer, validation_prompts, validation_references)
                record |= {"validation": rates(outcomes), "validation_s": cost["seconds"]}
                model.train()
                self.paused += time.perf_counter() - pause
            curve.append(record)
            print(json.dumps(record), flush=True)

    with tempfile.TemporaryDirectory() as output_dir:
        config = dataclasses.replace(sft_config(env, output_dir, run, tokenizer), disable_tqdm=True)
        trainer = SFTTrainer(model=model, args=config, train_dataset=train, processing_class=tokenizer, callbacks=[Checkpoints()])
        trainer.remove_callback(PrinterCallback)
        trainer.train()
        fine_tuned = without_autocast(trainer).eval()
    final = curve[-1]
    outcomes, cost = answered(fine_tuned, tokenizer, validation_prompts, validation_references)
    final |= {"validation": rates(outcomes), "validation_s": cost["seconds"], "scored": "after training, float32"}
    ways: dict[str, tuple[pd.DataFrame, dict]] = {"fine-tuned": answered(fine_tuned, tokenizer, test_prompts, test_references)}
    print("fine-tuned, test:", json.dumps(rates(ways["fine-tuned"][0])), flush=True)
    del model, fine_tuned, trainer

    instruct, instruct_tokenizer = load_model_and_tokenizer("instruct", verbose=False)
    for shots in (0, arguments.shots):
        conversations = prompted_conversations(test, few_shot_examples(list(splits["train"]), shots, key="template"), SYSTEM_PROMPT)
        ways[f"instruct, {shots}-shot prompt"] = answered(instruct.eval(), instruct_tokenizer, conversations, test_references)
        print(f"{shots}-shot, test:", json.dumps(rates(ways[f"instruct, {shots}-shot prompt"][0])), flush=True)
    most_common = most_common_record(reference_replies(train))
    ways[f"most common value ({most_common})"] = (outcome_table([most_common] * len(test), test_references), {})
    ways["instruct, 0-shot prompt"][1]["wrong (first 12)"] = ways["instruct, 0-shot prompt"][1]["wrong (first 12)"][:3]

    reference = ways[f"instruct, {arguments.shots}-shot prompt"][0]
    records = []
    for name, (outcomes, cost) in ways.items():
        record = {"way": name, **cost, "test": rates(outcomes)}
        if name == "fine-tuned":
            record["minus prompted"] = {
                column: [round(value, 3) for value in paired_difference(outcomes[column], reference[column]).values()]
                for column in COLUMNS
            }
        records.append(record)

    summary = {
        "task": "bookings", "device": env.device, "threads": torch.get_num_threads(), "bf16": env.bf16, "run": run,
        "validation_prompts": len(validation), "test_prompts": len(test), "max_new_tokens": MAX_NEW_TOKENS,
        "curve": curve, "test": records, "paired_with": f"instruct, {arguments.shots}-shot prompt",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bookings_curve.json").write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n")

    print(f"\nValidation ({len(validation)} prompts, the training templates); rates with 95% Wilson intervals\n")
    print("| step | rows seen | training s | format | name | people | day | time | all four |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in curve:
        if "validation" in r:
            cells = " | ".join(shown(r["validation"][column]) for column in COLUMNS)
            print(f"| {r['step']} | {r['rows_seen']} | {r['training_s']:.0f} | {cells} |")
    print(f"\nTest ({len(test)} prompts, templates the training rows never use)\n")
    print("| way | format | name | people | day | time | all four | seconds | prompt tokens | never stopped |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in records:
        cells = " | ".join(shown(r["test"][column]) for column in COLUMNS)
        print(f"| {r['way']} | {cells} | {r.get('seconds', '–')} | {r.get('prompt tokens (mean)', '–')} | {r.get('never stopped', '–')} |")
    difference = records[0]["minus prompted"]
    print(f"\nfine-tuned minus {summary['paired_with']} (paired, 95%): " + ", ".join(
        f"{column} {d:+.2f} ({low:+.2f} to {high:+.2f})" for column, (d, low, high) in difference.items()))


if __name__ == "__main__":
    main()
