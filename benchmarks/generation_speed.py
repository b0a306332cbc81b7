"""How fast the course generates replies on this machine, and whether a faster way changes them.

Lesson 2's fine-tuned model answers the first prompts of a split (lesson 2's validation prompts by
default; greedy, stopping at the end of the turn, at most 96 new tokens), once per way of generating.
Each way is compared with the first one run (by default the course's old default, float32 weights, batches
of 16): seconds, speed-up, replies identical to it, and the house-style scores with the paired difference
from it (bootstrap interval over the same prompts). The last way asks again what float32 batches of 64
have answered: the replies kept in the course cache (helpers/reply_cache.py, in a temporary folder here).

Usage (from the repository root; offline is fine; nothing else should run on the machine):
  .venv/bin/python benchmarks/generation_speed.py              # 64 prompts, every way
  .venv/bin/python benchmarks/generation_speed.py --prompts 100 --split test
  .venv/bin/python benchmarks/generation_speed.py --prompts 100 --ways float32/64 "float32/64 kept"
Writes benchmarks/results/generation_speed_<split>.json (every way) or generation_speed_<split>_<ways>.json
(some), and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.environment import default_environment  # noqa: E402  (imports no Hugging Face library)

default_environment(Path(__file__).resolve().parent.parent / "offline.env")  # before they are imported

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from helpers import reply_cache  # noqa: E402
from helpers.data import load_support_desk, without_system_prompt  # noqa: E402
from helpers.environment import detect  # noqa: E402
from helpers.generation import generate_turns, prompt_messages  # noqa: E402
from helpers.house_style import outcome_table  # noqa: E402
from helpers.intervals import paired_difference  # noqa: E402
from helpers.models import CACHE_VARIABLE  # noqa: E402
from helpers.recipe import MODEL_FOLDER, fine_tuned_model_dir  # noqa: E402

# It times generating: every reply generated, none given back from the course cache (read at each call).
os.environ[reply_cache.VARIABLE] = "off"

RESULTS = Path(__file__).resolve().parent / "results"
NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
# name: (weights, batch size, kept): the first run is the reference every other is compared with; a kept way
# generates once into an empty course cache, then times asking again.
WAYS = {
    "float32/16": ("float32", 16, False),
    "float32/64": ("float32", 64, False),
    "bfloat16/16": ("bfloat16", 16, False),
    "bfloat16/64": ("bfloat16", 64, False),
    "float32/64 kept": ("float32", 64, True),
}


def kept_turns(model, tokenizer, prompts: list[list[dict]], batch_size: int) -> tuple[list[tuple[str, bool]], float]:
    """Return the replies asked a second time with the course cache on (in an empty temporary folder) and the seconds that took."""
    before = dict(os.environ)
    with tempfile.TemporaryDirectory() as folder:
        os.environ.update({reply_cache.VARIABLE: "on", CACHE_VARIABLE: folder})
        try:
            generate_turns(model, tokenizer, prompts, batch_size=batch_size, progress=False)
            start = time.perf_counter()
            turns = generate_turns(model, tokenizer, prompts, batch_size=batch_size, progress=False)
            seconds = time.perf_counter() - start
        finally:
            os.environ.clear()
            os.environ.update(before)
    return turns, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=64, help="prompts to answer (lesson 2 scores 64 validation prompts)")
    parser.add_argument("--split", default="validation", choices=("validation", "test"))
    parser.add_argument("--ways", nargs="+", default=list(WAYS), choices=list(WAYS), help="ways to run, the first the reference")
    arguments = parser.parse_args()

    env = detect()
    folder, origin = fine_tuned_model_dir(env, NOTEBOOKS / MODEL_FOLDER)  # before the kept ways move the course cache
    print(f"model: {origin}")
    tokenizer = AutoTokenizer.from_pretrained(folder)
    float32_model = AutoModelForCausalLM.from_pretrained(folder).eval()
    rows = load_support_desk(arguments.split).select(range(arguments.prompts)).map(without_system_prompt)
    prompts = [prompt_messages(row["messages"]) for row in rows]

    records, reference = [], None
    for way in arguments.ways:
        weights, batch_size, kept = WAYS[way]
        model = float32_model if weights == "float32" else copy.deepcopy(float32_model).to(getattr(torch, weights))
        if kept:
            turns, seconds = kept_turns(model, tokenizer, prompts, batch_size)
        else:
            start = time.perf_counter()
            turns = generate_turns(model, tokenizer, prompts, batch_size=batch_size, progress=False)
            seconds = time.perf_counter() - start
        replies = [reply for reply, unused in turns]
        outcomes = outcome_table(replies, rows)
        reference = reference or {"seconds": seconds, "replies": replies, "outcomes": outcomes}
        record = {"way": way, "weights": weights, "batch": batch_size, "kept": kept, "seconds": round(seconds, 2),
                  "speed-up": round(reference["seconds"] / seconds, 2),
                  "identical": sum(a == b for a, b in zip(replies, reference["replies"]))}
        for column in ("format", "category_correct", "policy_correct"):
            change = paired_difference(outcomes[column], reference["outcomes"][column])
            record[column] = round(float(outcomes[column].mean()), 3)
            record[f"{column} change"] = [round(change[key], 3) for key in ("difference", "low", "high")]
        records.append(record)
        print(json.dumps(record), flush=True)

    RESULTS.mkdir(exist_ok=True)
    summary = {"split": arguments.split, "prompts": len(prompts), "cpu_threads": torch.get_num_threads(), "records": records}
    ways = "" if arguments.ways == list(WAYS) else "_" + "_".join(way.replace("/", "-").replace(" ", "-") for way in arguments.ways)
    (RESULTS / f"generation_speed_{arguments.split}{ways}.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"\n{len(prompts)} {arguments.split} prompts, {torch.get_num_threads()} threads\n")
    print("| way | seconds | speed-up | identical replies | format | category | policy | policy change (95%) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in records:
        low, high = r["policy_correct change"][1:]
        print(f"| {r['way']} | {r['seconds']} | {r['speed-up']}× | {r['identical']}/{len(prompts)} | "
              f"{r['format']:.2f} | {r['category_correct']:.2f} | {r['policy_correct']:.2f} | {low:+.2f} to {high:+.2f} |")


if __name__ == "__main__":
    main()
