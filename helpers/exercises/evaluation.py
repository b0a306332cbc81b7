"""Checks for lesson 4's exercises (evaluation)."""

from __future__ import annotations

import math

import pandas as pd
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from helpers.evaluation import assistant_perplexity, continuation_logprobs
from helpers.exercises import Feedback, failed, not_attempted, passed
from helpers.i18n import _

# Pairs the hard exercise's function is checked on: a one-token and a several-token continuation.
_PAIRS = [
    ("Question: What colour is a clear daytime sky?\nAnswer:", " blue"),
    ("Question: What do bees make?\nAnswer:", " honey from the nectar of flowers"),
    ("The first three letters of the alphabet are A, B,", " C"),
]


def check_disagreements(count: int | None, rescued_id: str | None, table: pd.DataFrame) -> Feedback:
    """Return Feedback, truthy for the number of questions where acc and acc_norm disagree and one rescued id (easy)."""
    if count is None or rescued_id is None:
        return not_attempted(_("the number of disagreements (an int) and one question id (a str)"))
    disagree = table[table["correct"] != table["correct_norm"]]
    if count != len(disagree):
        if count == int(table["correct_norm"].sum() - table["correct"].sum()):
            return failed(_("That is the difference in the number correct, not the number of disagreements."),
                          _("count the rows where the two columns differ."))
        return failed(_("{count} is not the number of questions where the two rules disagree.").format(count=count),
                      'table["correct"] != table["correct_norm"].')
    rescued = set(disagree[disagree["correct_norm"]]["id"])
    if rescued_id not in rescued:
        if rescued_id in set(disagree["id"]):
            return failed(_("On {question} length normalisation made the answer *wrong*.").format(question=rescued_id),
                          _("pick a row where correct_norm is True and correct is False."))
        return failed(
            _("{question} is not one of the questions the normalisation got right and the raw score wrong.").format(
                question=repr(rescued_id)
            )
        )
    return passed(
        _(
            "{count} disagreements; on {question} the raw score preferred a shorter wrong answer, "
            "and dividing by length fixed it."
        ).format(count=len(disagree), question=rescued_id)
    )


def check_perplexity_by_hand(
    value: float | None, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, conversation: list[dict]
) -> Feedback:
    """Return Feedback, truthy when value is the perplexity of the conversation's assistant tokens (medium)."""
    if value is None:
        return not_attempted(_("your perplexity (a float)"))
    truth = assistant_perplexity(model, tokenizer, [conversation])
    if math.isclose(value, truth, rel_tol=1e-3):
        return passed(_("Perplexity {perplexity:.3f}: the same as helpers.evaluation.assistant_perplexity.").format(perplexity=truth))
    if math.isclose(value, math.log(truth), rel_tol=1e-3):
        return failed(_("That is the mean negative log-likelihood; perplexity is its exponential."), "math.exp(...).")
    return failed(
        _("{answer:.3f} is not {perplexity:.3f}.").format(answer=value, perplexity=truth),
        _("shift by one (logits at t predict token t+1), keep only assistant tokens, average their -log p, then exp."),
    )


def check_choice_logprob(function, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> Feedback:
    """Return Feedback, truthy when function(model, tokenizer, context, continuation) sums the continuation's log-probs (hard)."""
    if function is None:
        return not_attempted(_("your function choice_logprob(model, tokenizer, context, continuation)"))
    if not callable(function):
        return failed(_("Expected a function, got {type_name}.").format(type_name=type(function).__name__))
    truths = continuation_logprobs(model, tokenizer, _PAIRS)
    for (context, continuation), truth in zip(_PAIRS, truths):
        try:
            value = float(function(model, tokenizer, context, continuation))
        except Exception as error:  # a learner's function can fail in any way; say where
            return failed(
                _("choice_logprob({context}, {continuation}) raised {error_type}: {error}").format(
                    context=repr(context), continuation=repr(continuation), error_type=type(error).__name__, error=error
                )
            )
        if math.isclose(value, truth, rel_tol=1e-3, abs_tol=1e-3):
            continue
        if value > 0:
            return failed(
                _("For {continuation} you return {value:.3f}, above zero: a log-probability never is.").format(
                    continuation=repr(continuation), value=value
                ),
                _("use log_softmax, not the raw logits."),
            )
        return failed(
            _("For {continuation} you return {value:.3f}; the summed log-probability is {truth:.3f}.").format(
                continuation=repr(continuation), value=value, truth=truth
            ),
            _("score only the continuation's tokens, each with the logits of the position before it."),
        )
    return passed(_("Your function matches the course's scorer on every test pair."))
