"""Does fine-tuning pay on the support desk? Lesson 2's model against the alternatives, on the same test prompts.

Each way answers (or labels) the first prompts of the test split:
- lesson 2's fine-tuned model (the profile's run, read from lesson 2's output or the course cache);
- the instruct model prompted with the guidelines as its system prompt: zero-shot, and with 5 and 15
  training conversations before the customer's message (helpers.baselines.few_shot_examples);
- a TF-IDF + logistic-regression classifier (helpers.baselines), trained on the fine-tune's own rows
  and on all 1000 training rows; it writes no reply, so it has no format score;
- the most common category and policy of the fine-tune's rows.
Every rate has its 95% Wilson interval; every way's policy and content are paired with the fine-tune's
(bootstrap over the same prompts). Generation is greedy, at most 96 new tokens, as in the lessons.

Usage (from the repository root; offline is fine; nothing else should run on the machine):
  .venv/bin/python benchmarks/baselines.py               # 64 test prompts
  .venv/bin/python benchmarks/baselines.py --prompts 100
Writes benchmarks/results/baselines_test.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.environment import default_environment  # noqa: E402  (imports no Hugging Face library)

default_environment(Path(__file__).resolve().parent.parent / "offline.env")  # before they are imported

import pandas as pd  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from helpers import reply_cache  # noqa: E402
from helpers.baselines import answer_with_cost, classifier_outcomes, few_shot_examples, prompted_conversations  # noqa: E402
from helpers.data import load_support_desk, without_system_prompt  # noqa: E402
from helpers.environment import detect  # noqa: E402
from helpers.generation import prompt_messages  # noqa: E402
from helpers.house_style import majority_outcomes, outcome_table  # noqa: E402
from helpers.intervals import paired_difference, rates_with_intervals  # noqa: E402
from helpers.models import load_model_and_tokenizer  # noqa: E402
from helpers.recipe import MODEL_FOLDER, fine_tuned_model_dir, run_for, training_rows  # noqa: E402

# It times generating: every reply generated, none given back from the course cache (read at each call).
os.environ[reply_cache.VARIABLE] = "off"

RESULTS = Path(__file__).resolve().parent / "results"
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SHOTS = (0, 5, 15)  # 15: one conversation of each topic
COLUMNS = ("format", "category_correct", "policy_correct", "content")


def _answered(model, tokenizer, conversations: list[list[dict]], rows) -> tuple[pd.DataFrame, dict]:
    """Return the replies' outcomes and what answering cost (seconds in all and per reply, prompt tokens, replies that never stopped)."""
    replies, cost = answer_with_cost(model, tokenizer, conversations)
    return outcome_table(replies, rows), {"seconds": round(cost["seconds per reply"] * len(rows), 1), **cost}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=64, help="test prompts to answer (lesson 4 scores 64)")
    arguments = parser.parse_args()

    env = detect()
    run = run_for(env)
    own_rows, unused = training_rows(run["train_rows"], 0)
    all_rows = load_support_desk("train")
    rows = load_support_desk("test").select(range(arguments.prompts)).map(without_system_prompt)
    ways: dict[str, tuple[pd.DataFrame, dict]] = {}

    folder, origin = fine_tuned_model_dir(env, NOTEBOOKS / MODEL_FOLDER)
    print(f"fine-tuned model: {origin}", flush=True)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    ways["fine-tuned"] = _answered(model, AutoTokenizer.from_pretrained(folder), [prompt_messages(r["messages"]) for r in rows], rows)

    model, tokenizer = load_model_and_tokenizer("instruct", verbose=False)
    for shots in SHOTS:
        conversations = prompted_conversations(rows, few_shot_examples(list(all_rows), shots))
        ways[f"instruct, {shots}-shot prompt"] = _answered(model.eval(), tokenizer, conversations, rows)
        print(f"{shots}-shot: {ways[f'instruct, {shots}-shot prompt'][1]}", flush=True)

    for name, train in ((f"classifier, {len(own_rows)} rows", own_rows), (f"classifier, {len(all_rows)} rows", all_rows)):
        start = time.perf_counter()
        outcomes = classifier_outcomes(list(train), list(rows))
        ways[name] = (outcomes, {"seconds": round(time.perf_counter() - start, 1)})
    ways[f"most common, {len(own_rows)} rows"] = (majority_outcomes(list(own_rows), list(rows)), {})

    reference = ways["fine-tuned"][0]
    records = []
    for name, (outcomes, cost) in ways.items():
        rates = rates_with_intervals(outcomes[[column for column in COLUMNS if column in outcomes]])
        record = {"way": name, **cost}
        for column, rate in rates.iterrows():
            record[column] = [round(rate[key], 3) for key in ("rate", "low", "high")]
        for column in ("policy_correct", "content"):
            change = paired_difference(outcomes[column], reference[column])
            record[f"{column} minus fine-tuned"] = [round(change[key], 3) for key in ("difference", "low", "high")]
        records.append(record)

    RESULTS.mkdir(exist_ok=True)
    summary = {"split": "test", "prompts": len(rows), "run": run, "device": env.device, "records": records}
    (RESULTS / "baselines_test.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"\n{len(rows)} test prompts; rates with 95% Wilson intervals; differences paired with the fine-tune's\n")
    print("| way | format | category | policy | policy minus fine-tuned (95%) | seconds | prompt tokens | never stopped |")
    print("|---|---|---|---|---|---|---|---|")
    for r in records:
        shown = {c: f"{r[c][0]:.2f} ({r[c][1]:.2f}–{r[c][2]:.2f})" if c in r else "–" for c in COLUMNS}
        difference, low, high = r["policy_correct minus fine-tuned"]
        print(f"| {r['way']} | {shown['format']} | {shown['category_correct']} | {shown['policy_correct']} | "
              f"{difference:+.2f} ({low:+.2f} to {high:+.2f}) | {r.get('seconds', '–')} | "
              f"{r.get('prompt tokens (mean)', '–')} | {r.get('never stopped', '–')} |")


if __name__ == "__main__":
    main()
