"""Score a language model by log-likelihood: perplexity on assistant replies, and multiple-choice questions.

Both read one forward pass per batch and add up log-probabilities of chosen tokens; neither
generates text. Multiple choice follows lm-evaluation-harness: each choice is a continuation
of the same plain-text prompt (no chat template), and the model "answers" with the choice it
finds most likely. Accuracy is the mean of a table column:

    table = multiple_choice_table(model, tokenizer, load_general_knowledge())
    table["correct"].mean()                      # like the harness's acc
    table["correct_norm"].mean()                 # like acc_norm: log-likelihood per character
    table["correct_calibrated"].mean()           # each choice against its own likelihood after a bare "Answer:"
    table.groupby("subject")["correct"].mean()   # per subject
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from helpers import reply_cache
from helpers.generation import pad_token_id
from helpers.i18n import _, either
from helpers.templates import has_generation_markers

# This file's code turns token ids into scores: an edit to it makes every kept score stale (helpers.reply_cache).
_CODE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def _summed_logprobs(
    model: PreTrainedModel, sequences: list[tuple[list[int], list[int]]], pad_token_id: int, batch_size: int
) -> tuple[list[float], list[int]]:
    """Return, per (token ids, scored mask) pair, the summed log-probability of its scored tokens and their count.

    On the CPU the result is kept in the course cache and given again for the same model, sequences and settings
    (helpers.reply_cache): the batch size stays in the key, since it decides the padding and so the last bits.
    """
    if batch_size < 1:
        raise ValueError(_("batch_size must be at least 1, got {batch_size}").format(batch_size=batch_size))
    key = None
    if reply_cache.cacheable(model, do_sample=False):
        settings = {"pad_token_id": pad_token_id, "batch_size": batch_size, "code": _CODE}
        key = reply_cache.score_key(model, [[list(tokens), list(mask)] for tokens, mask in sequences], settings)
        kept = reply_cache.load_scores(key)
        if kept is not None:
            return kept
    # Longest first: similar lengths share a batch (less padding), and running out of memory shows at once.
    order = sorted(range(len(sequences)), key=lambda i: -len(sequences[i][0]))
    sums, counts = [0.0] * len(sequences), [0] * len(sequences)
    was_training = model.training
    model.eval()  # no dropout: the same text always gets the same score
    try:
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            width = max(len(sequences[i][0]) for i in batch)
            # Right padding is safe here: a causal model's position t never looks at later positions.
            ids = torch.full((len(batch), width), pad_token_id, dtype=torch.long)
            attention = torch.zeros((len(batch), width), dtype=torch.long)
            scored = torch.zeros((len(batch), width), dtype=torch.bool)
            for row, i in enumerate(batch):
                tokens, mask = sequences[i]
                ids[row, : len(tokens)] = torch.tensor(tokens)
                attention[row, : len(tokens)] = 1
                scored[row, : len(tokens)] = torch.tensor(mask, dtype=torch.bool)
            with torch.no_grad():
                logits = model(input_ids=ids.to(model.device), attention_mask=attention.to(model.device)).logits
            # The logits at position t predict token t + 1, so token t is scored by the logits at t - 1
            # (the first token has no prediction). Keep only the scored positions before the softmax.
            rows, cols = scored[:, 1:].nonzero(as_tuple=True)
            log_probs = logits[rows.to(logits.device), cols.to(logits.device)].float().log_softmax(dim=-1)
            targets = ids[:, 1:][rows, cols].to(log_probs.device)
            token_log_probs = log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1).cpu().double()
            batch_sums = torch.zeros(len(batch), dtype=torch.float64).index_add_(0, rows, token_log_probs)
            batch_counts = torch.bincount(rows, minlength=len(batch))
            for row, i in enumerate(batch):
                sums[i], counts[i] = batch_sums[row].item(), int(batch_counts[row])
    finally:
        model.train(was_training)
    if key is not None:
        reply_cache.store_scores(key, sums, counts)
    return sums, counts


def assistant_perplexity(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, conversations: Iterable[list[dict]], batch_size: int = 8
) -> float:
    """Return the model's perplexity on the assistant tokens of the conversations: exp(mean negative log-likelihood)."""
    conversations = list(conversations)
    if not conversations:
        raise ValueError(_("no conversations to score; pass a list of conversations, each a list of messages"))
    if not tokenizer.chat_template or not has_generation_markers(tokenizer.chat_template):
        raise ValueError(
            _(
                "This tokenizer's chat template has no {% generation %} markers, so transformers cannot tell which "
                "tokens are the assistant's. Call helpers.templates.set_training_template(tokenizer) first."
            )
        )
    encoded = tokenizer.apply_chat_template(
        conversations, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
    )
    sequences = list(zip(encoded["input_ids"], encoded["assistant_masks"]))
    sums, counts = _summed_logprobs(model, sequences, pad_token_id(tokenizer), batch_size)
    if sum(counts) == 0:
        raise ValueError(_("the conversations have no assistant tokens to score; each needs an assistant reply"))
    # Weighted by tokens, not by conversation: a long reply counts for more, as it does in the training loss.
    return math.exp(-sum(sums) / sum(counts))


def multiple_choice_prompt(question: str) -> str:
    """Return the plain-text prompt that every choice continues: "Question: ...\\nAnswer:"."""
    # The format of the harness's ARC and SciQ tasks. The choices are not listed in the prompt: the
    # model is asked how likely each answer is as a continuation, so even a base model can take the test.
    return f"Question: {question.strip()}\nAnswer:"


def continuation_logprobs(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, pairs: list[tuple[str, str]], batch_size: int = 16
) -> list[float]:
    """Return, for each (context, continuation) pair, the summed log-probability of the continuation's tokens."""
    if not pairs:
        raise ValueError(_("no (context, continuation) pairs to score"))
    sequences = []
    for i, (context, continuation) in enumerate(pairs):
        # The context keeps the tokenizer's own special tokens (a BOS where the model expects one);
        # the continuation is encoded apart, so the scored tokens are exactly its own.
        context_ids = tokenizer(context)["input_ids"]
        continuation_ids = tokenizer(continuation, add_special_tokens=False)["input_ids"]
        if not context_ids:
            raise ValueError(_("pair {index}: the context is empty; both need some text to score").format(index=i))
        if not continuation_ids:
            raise ValueError(_("pair {index}: the continuation is empty; both need some text to score").format(index=i))
        sequences.append((context_ids + continuation_ids, [0] * len(context_ids) + [1] * len(continuation_ids)))
    sums, unused = _summed_logprobs(model, sequences, pad_token_id(tokenizer), batch_size)
    return sums


# The content-free prompt a choice is calibrated against: the question's place left empty.
NULL_PROMPT = "Answer:"


def multiple_choice_table(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, questions: Iterable[dict], batch_size: int = 16
) -> pd.DataFrame:
    """Return a DataFrame with one row per question: the answer, the model's picks by each rule, whether they are correct, the margin."""
    questions = list(questions)
    if not questions:
        raise ValueError(_("no questions to score; pass rows with 'question', 'choices' and 'answer'"))
    pairs, null_pairs = [], []
    for i, row in enumerate(questions):
        missing = [key for key in ("question", "choices", "answer") if key not in row]
        if missing:
            fields = either(map(repr, missing))
            raise ValueError(
                _("question {index} has no {fields} field (it has {keys})").format(index=i, fields=fields, keys=sorted(row))
            )
        context = multiple_choice_prompt(row["question"])
        # The leading space belongs to the answer, as in "Answer: Paris".
        pairs += [(context, " " + choice) for choice in row["choices"]]
        null_pairs += [(NULL_PROMPT, " " + choice) for choice in row["choices"]]
    scores = continuation_logprobs(model, tokenizer, pairs, batch_size)  # every choice of every question at once
    priors = continuation_logprobs(model, tokenizer, null_pairs, batch_size)

    records, start = [], 0
    for row in questions:
        choices = row["choices"]
        mine, prior = scores[start : start + len(choices)], priors[start : start + len(choices)]
        start += len(choices)
        # acc_norm divides by the answer's length in characters, so long answers are not punished for
        # having more tokens to pay for.
        per_char = [score / len(" " + choice) for score, choice in zip(mine, choices)]
        pick = max(range(len(choices)), key=mine.__getitem__)
        pick_norm = max(range(len(choices)), key=per_char.__getitem__)
        # Calibrated (pointwise mutual information): how much the question raises each answer's likelihood,
        # so an answer the model finds likely on its own, whatever the question, gains nothing.
        lift = [score - alone for score, alone in zip(mine, prior)]
        pick_calibrated = max(range(len(choices)), key=lift.__getitem__)
        best_wrong = max(score for k, score in enumerate(mine) if k != row["answer"])
        records.append(
            {
                **{key: row[key] for key in ("id", "subject") if key in row},
                "question": row["question"],
                "answer": choices[row["answer"]],
                "predicted": choices[pick],
                "predicted_norm": choices[pick_norm],
                "correct": pick == row["answer"],
                "correct_norm": pick_norm == row["answer"],
                "correct_calibrated": pick_calibrated == row["answer"],
                # Log-likelihood of the right answer minus the best wrong one: > 0 when correct, and how sure.
                "margin": mine[row["answer"]] - best_wrong,
            }
        )
    return pd.DataFrame(records)
