"""`make test WORKERS=2` runs its workers on one core each: training and generating give the same numbers on one thread as on two.

The notebooks' stored outputs were made by one process on both cores (`make notebooks`); nbval compares them
with a run on one core. Checked below on lesson 2's recipe, as the lessons run it. How close the numbers are
depends on the CPU: with bf16 autocast on an AMD EPYC with bf16 units they were bit for bit the same; in float32
on an Intel Xeon without them, losses and gradient norms differed from the 7th significant digit (up to 6e-7
relative: a sum split between threads is added in another order), far below the 4 digits the logs show, and the
greedy replies were the same.
"""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch

from helpers.environment import detect
from helpers.generation import generate_replies, prompt_messages
from helpers.recipe import sft_config, training_rows
from helpers.training import without_autocast


def _train_and_answer(base_model, tokenizer, threads: int, tmp_path) -> tuple[list[dict], list[str]]:
    """Return the training log of two steps of lesson 2's recipe and the greedy replies after them, on `threads` threads."""
    from trl import SFTTrainer

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        train, validation = training_rows(8, 4)
        config = dataclasses.replace(
            sft_config(detect(), tmp_path / f"threads-{threads}", {"steps": 2, "batch": 4, "micro_batch": 4}, tokenizer),
            logging_steps=1,
        )
        trainer = SFTTrainer(model=copy.deepcopy(base_model), args=config, train_dataset=train, processing_class=tokenizer)
        trainer.train()
        model = without_autocast(trainer)
        prompts = [prompt_messages(row["messages"]) for row in validation]
        replies = generate_replies(model, tokenizer, prompts, max_new_tokens=24, progress=False)
    finally:
        torch.set_num_threads(before)
    logs = [{key: value for key, value in entry.items() if "runtime" not in key and "per_second" not in key}
            for entry in trainer.state.log_history]
    return logs, replies


@pytest.mark.slow
def test_training_and_generating_give_the_same_numbers_on_one_thread_as_on_two(base_model_and_tokenizer, tmp_path):
    model, tokenizer = base_model_and_tokenizer
    one = _train_and_answer(model, tokenizer, 1, tmp_path)
    two = _train_and_answer(model, tokenizer, 2, tmp_path)
    assert one[0] == [pytest.approx(entry, rel=1e-5) for entry in two[0]], "the logs should agree far beyond the digits shown"
    assert one[1] == two[1], "greedy replies should be the same"
    assert any("loss" in entry for entry in one[0]) and all(one[1])
