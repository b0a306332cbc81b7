"""Checks for lesson 3's exercises (validation monitoring)."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from transformers import EarlyStoppingCallback, Trainer, TrainerCallback, TrainerControl, TrainerState
from trl import SFTConfig

from helpers.exercises import Feedback, failed, not_attempted, passed
from helpers.exercises.fine_tuning import unknown_argument
from helpers.i18n import _

# A replayed over-fitting run (rounded from lesson 3's): training loss falls, validation loss turns up at step 4.
_TRAIN_LOSS = [2.07, 1.38, 0.92, 0.53, 0.27, 0.13, 0.08, 0.05]
_VALIDATION_LOSS = [1.45, 1.25, 1.12, 1.19, 1.26, 1.44, 1.57, 1.63]


def check_best_step(step: int | None, accuracy: float | None, log_history: list[dict]) -> Feedback:
    """Return Feedback, truthy when step and accuracy are those of the lowest validation loss in log_history (easy)."""
    if step is None or accuracy is None:
        return not_attempted(_("the step (an int) and the validation accuracy there (a float)"))
    evaluations = [entry for entry in log_history if "eval_loss" in entry]
    if not evaluations:
        return failed(_("This log history has no evaluations."), _("pass overfit.state.log_history from section 4."))
    best = min(evaluations, key=lambda entry: entry["eval_loss"])
    lowest_train = min((entry for entry in log_history if "loss" in entry), key=lambda entry: entry["loss"], default=None)
    if step != best["step"]:
        if lowest_train is not None and step == lowest_train["step"]:
            return failed(
                _("Step {step} has the lowest *training* loss.").format(step=step), _("look at eval_loss, the validation loss.")
            )
        return failed(
            _("Step {step} is not where the validation loss is lowest.").format(step=step), _("find the smallest eval_loss.")
        )
    if "eval_mean_token_accuracy" not in best:
        return failed(_("This log history has no validation token accuracy."), _("pass overfit.state.log_history from section 4."))
    if abs(accuracy - best["eval_mean_token_accuracy"]) > 1e-3:
        if abs(accuracy - best.get("eval_entropy", -1.0)) <= 1e-3:
            return failed(_("That number is the validation entropy."), _("eval_mean_token_accuracy is the accuracy."))
        return failed(
            _("Right step; {accuracy} is not the validation token accuracy there.").format(accuracy=accuracy),
            "eval_mean_token_accuracy.",
        )
    return passed(
        _(
            "Step {step}: validation loss {loss:.3f}, token accuracy {accuracy:.3f}. "
            "Every step after it made the model worse on unseen conversations."
        ).format(step=step, loss=best["eval_loss"], accuracy=accuracy)
    )


def check_stop_on_accuracy(settings: dict | None, stopper: EarlyStoppingCallback | None) -> Feedback:
    """Return Feedback, truthy for settings and a callback that stop on validation token accuracy (medium)."""
    if settings is None or stopper is None:
        return not_attempted(_("a dict of SFTConfig arguments and an EarlyStoppingCallback"))
    if not isinstance(settings, dict):
        return failed(_("Expected a dict of SFTConfig arguments, got {type_name}.").format(type_name=type(settings).__name__))
    if not isinstance(stopper, EarlyStoppingCallback):
        return failed(_("Expected an EarlyStoppingCallback, got {type_name}.").format(type_name=type(stopper).__name__))
    unknown = unknown_argument(settings)
    if unknown is not None:
        return unknown
    # Built on the CPU in float32 for the check only: TRL's bf16 default needs a GPU or use_cpu.
    values = {"output_dir": tempfile.gettempdir(), "use_cpu": True, "bf16": False, "report_to": "none"} | settings
    try:
        config = SFTConfig(**values)
    except (ValueError, TypeError) as error:
        return failed(_("SFTConfig refused these settings: {error}").format(error=error))
    if (config.eval_strategy.value, config.eval_steps) != ("steps", 5):
        return failed(_("The run should evaluate every 5 steps."), 'eval_strategy="steps", eval_steps=5.')
    if (config.save_strategy.value, config.save_steps, config.save_total_limit) != ("steps", 5, 3):
        return failed(_("Checkpoints every 5 steps, at most 3 kept."), 'save_strategy="steps", save_steps=5, save_total_limit=3.')
    if not config.load_best_model_at_end:
        return failed(_("The best checkpoint would not be loaded at the end."), "load_best_model_at_end=True.")
    if config.metric_for_best_model not in ("eval_mean_token_accuracy", "mean_token_accuracy"):
        return failed(
            _("The best checkpoint is chosen by {metric}.").format(metric=repr(config.metric_for_best_model)),
            'metric_for_best_model="eval_mean_token_accuracy".',
        )
    if not config.greater_is_better:
        return failed(_("For accuracy, higher is better: this would keep the worst checkpoint."), "greater_is_better=True.")
    if stopper.early_stopping_patience != 3:
        return failed(
            _("The callback waits {patience} evaluations.").format(patience=stopper.early_stopping_patience),
            "early_stopping_patience=3.",
        )
    try:  # the callback's own check of the config, as the trainer runs it when training begins
        stopper.on_train_begin(config, TrainerState(), TrainerControl())
    except AssertionError as error:
        return failed(_("EarlyStoppingCallback refused the config: {error}").format(error=error))
    return passed(
        _("Evaluates and saves every 5 steps, keeps 3 checkpoints, restores the most accurate, stops after 3 flat evaluations.")
    )


def _replay(alarm: TrainerCallback) -> int | None:
    """Return the step at which the alarm stopped a replayed over-fitting run, or None if it never did."""
    state, control = TrainerState(), TrainerControl()
    for step, (train_loss, validation_loss) in enumerate(zip(_TRAIN_LOSS, _VALIDATION_LOSS), start=1):
        state.global_step = step
        # The trainer's order: log the training loss, then evaluate, log the metrics, call on_evaluate.
        logs = {"loss": train_loss}
        state.log_history.append({**logs, "step": step})
        alarm.on_log(None, state, control, logs=logs)
        metrics = {"eval_loss": validation_loss}
        state.log_history.append({**metrics, "step": step})
        alarm.on_log(None, state, control, logs=metrics)
        alarm.on_evaluate(None, state, control, metrics=metrics)
        if control.should_training_stop:
            return step
    return None


def check_gap_alarm(alarm_class: type | None) -> Feedback:
    """Return Feedback, truthy for a TrainerCallback class that stops when validation exceeds training loss by max_gap (hard)."""
    if alarm_class is None:
        return not_attempted(_("your TrainerCallback subclass (the class itself, not an instance)"))
    if not (isinstance(alarm_class, type) and issubclass(alarm_class, TrainerCallback)):
        return failed(_("Expected a class that subclasses transformers.TrainerCallback."), "class GapAlarm(TrainerCallback): ...")
    # Gaps in the replay: -0.62, -0.13, 0.20, 0.66, 0.99, 1.31, 1.49, 1.58.
    for max_gap, expected in ((0.5, 4), (1.2, 6), (2.0, None)):
        try:
            alarm = alarm_class(max_gap=max_gap)
        except TypeError as error:
            return failed(
                _("GapAlarm(max_gap={max_gap}) failed: {error}").format(max_gap=max_gap, error=error),
                _("the constructor takes max_gap."),
            )
        try:
            stopped = _replay(alarm)
        except Exception as error:  # a learner's callback can fail in any way; say where
            return failed(_("Your callback raised {error_type}: {error}").format(error_type=type(error).__name__, error=error))
        if stopped != expected:
            if stopped is None:
                problem = _("With max_gap={max_gap} it never stopped; it should stop at step {expected}.")
            elif expected is None:
                problem = _("With max_gap={max_gap} it stopped at step {stopped}; it should not stop at all.")
            else:
                problem = _("With max_gap={max_gap} it stopped at step {stopped}; it should stop at step {expected}.")
            return failed(
                problem.format(max_gap=max_gap, stopped=stopped, expected=expected),
                _("compare the validation loss with the *latest* training loss, and stop only when the gap exceeds max_gap."),
            )
    return passed(_("It stops at the first evaluation where validation loss exceeds training loss by more than max_gap."))


# Measured on lesson 3's quick run (12 LoRA steps of 2 conversations, validation every 3 steps, three seeds):
# at 30x the lesson's rate the validation loss peaked 9 to 20 times its start and ended 9 to 16 times above
# the lesson's run; at 20x, 5 and 4 times; at 10x it kept falling. "Clearly worse" is half as high again.
_CLEARLY_WORSE = 1.5
_MIN_STEPS = 8        # the exercise asks for 12
_MIN_EVALUATIONS = 3  # a curve, not a point or a line
_FAR_ABOVE = 3        # a rate only a few times the lesson's is not "far too high"


def _log_history(run) -> list[dict] | None:
    """Return the log history of a trainer, a TrainerState or a list of log entries, or None for anything else."""
    if isinstance(run, list):
        return run
    state = run if isinstance(run, TrainerState) else getattr(run, "state", None)  # any trainer has .state
    return state.log_history if isinstance(state, TrainerState) else None


def _peak_learning_rate(log_history: list[dict]) -> float | None:
    """Return the highest learning rate logged in a run, or None if none was logged."""
    rates = [entry["learning_rate"] for entry in log_history if "learning_rate" in entry]
    return max(rates, default=None)


def _evaluations(log_history: list[dict]) -> list[dict]:
    """Return a run's evaluation entries (those with eval_loss), in step order."""
    return sorted((entry for entry in log_history if "eval_loss" in entry), key=lambda entry: entry["step"])


class _Point(NamedTuple):
    """One evaluation: its step and validation loss."""

    step: int
    loss: float


@dataclass(frozen=True)
class _Curve:
    """What the learner's run and the lesson's reference run say about a learning rate, read from their log histories."""

    rate: float | None  # the run's highest logged learning rate; None when none was logged
    reference_rate: float | None  # the lesson's
    blown_up: _Point | None  # the run's first evaluation whose loss is not finite
    start: _Point  # where the validation curve starts
    start_from_reference: bool  # the start is the lesson's evaluation before training, the run having none at step 0
    peak: _Point  # the highest evaluation after the start
    last: _Point
    turn: tuple[_Point, _Point] | None  # the first rise: the evaluation before it and the one after
    reference_last: float  # the lesson's run's last validation loss
    training: tuple[float, float] | None  # the run's first and last training loss, when two were logged


def _read_curve(log_history: list[dict], reference_history: list[dict]) -> _Curve:
    """Return the facts of a run's validation curve beside the lesson's; each history needs at least one evaluation."""
    evaluations, reference_evaluations = _evaluations(log_history), _evaluations(reference_history)
    points = [_Point(entry["step"], entry["eval_loss"]) for entry in evaluations]
    blown_up = next((point for point in points if not math.isfinite(point.loss)), None)
    # Where the curve starts: this run's evaluation before training, else the untrained model's in the reference run.
    start_from_reference = points[0].step != 0 and reference_evaluations[0]["step"] == 0
    if start_from_reference:
        points.insert(0, _Point(0, reference_evaluations[0]["eval_loss"]))
    train_losses = [entry["loss"] for entry in log_history if "loss" in entry]
    return _Curve(
        rate=_peak_learning_rate(log_history),
        reference_rate=_peak_learning_rate(reference_history),
        blown_up=blown_up,
        start=points[0],
        start_from_reference=start_from_reference,
        peak=max(points[1:], key=lambda point: point.loss, default=points[0]),
        last=points[-1],
        turn=next(((before, after) for before, after in zip(points, points[1:]) if after.loss > before.loss), None),
        reference_last=reference_evaluations[-1]["eval_loss"],
        training=(train_losses[0], train_losses[-1]) if len(train_losses) >= 2 else None,
    )


def _unreadable(run: object, history: list[dict] | None, reference_history: list[dict] | None) -> Feedback | None:
    """Return failed Feedback saying why the runs give no validation curve to read, or None when they give one."""
    if history is None:
        return failed(_("Expected your trainer (or its state.log_history), got {type_name}.").format(type_name=type(run).__name__))
    if reference_history is None or not any("eval_loss" in entry for entry in reference_history):
        return failed(_("The reference run has no validation loss."), _("pass the lesson's run of section 3, `trainer`."))
    if not history:
        return failed(
            _("This trainer has not trained yet: its log history is empty."), _("call .train() on it, then run this cell again.")
        )
    evaluations = _evaluations(history)
    if not evaluations:
        return failed(
            _("No validation loss was logged: the trainer never evaluated, so there is no curve to read."),
            _('start from the lesson\'s config (it has eval_strategy="steps") and set eval_steps=3.'),
        )
    steps = max(entry.get("step", 0) for entry in history)
    if steps < _MIN_STEPS:
        return failed(_("Only {steps} steps ran: too few to see where the run goes.").format(steps=steps), "max_steps=12.")
    if len(evaluations) < _MIN_EVALUATIONS:
        return failed(
            _("Only {evaluations} evaluation(s) in {steps} steps: a curve needs at least {minimum} points.").format(
                evaluations=len(evaluations), steps=steps, minimum=_MIN_EVALUATIONS
            ),
            _("eval_steps=3, and eval_on_start=True for a point before training."),
        )
    return None


def _rate_text(curve: _Curve) -> str:
    """Return how the feedback names the run's learning rate: beside the lesson's where both were logged."""
    if curve.rate and curve.reference_rate:
        return _("learning rate {rate:g} ({ratio:.2g}× the lesson's {reference_rate:g})").format(
            rate=curve.rate, ratio=curve.rate / curve.reference_rate, reference_rate=curve.reference_rate
        )
    if curve.rate:
        return _("learning rate {rate:g}").format(rate=curve.rate)
    return _("this learning rate")


def _when(curve: _Curve, point: _Point) -> str:
    """Return when an evaluation was made, as the feedback says it: "before training" for a start at step 0, else "at step N"."""
    if point.step == curve.start.step and curve.start_from_reference:
        return _("before training, in the lesson's run")
    if point.step == curve.start.step and point.step == 0:
        return _("before training")
    return _("at step {step}").format(step=point.step)


def _curve_text(curve: _Curve) -> str:
    """Return the curve in brief: its start, its peak and its end."""
    return _("{start:.3f} {start_text}, highest {peak:.3f} at step {peak_step}, {last:.3f} at step {last_step}").format(
        start=curve.start.loss, start_text=_when(curve, curve.start), peak=curve.peak.loss, peak_step=curve.peak.step,
        last=curve.last.loss, last_step=curve.last.step,
    )


def _raise_the_rate() -> str:
    """Return the hint for a run whose rate was not high enough to break it."""
    return _("raise learning_rate, e.g. to 30× the lesson's (3e-2), and train again.")


def _blew_up(curve: _Curve) -> Feedback:
    """Return the success Feedback for a run whose validation loss stopped being a number."""
    return passed(
        _(
            "At {rate_text}, validation loss became {loss} at step {step}: "
            "the weights blew up. A learning rate far too high does not learn slowly, it breaks the model."
        ).format(rate_text=_rate_text(curve), loss=curve.blown_up.loss, step=curve.blown_up.step)
    )


def _shows_no_problem(curve: _Curve) -> Feedback:
    """Return the failed Feedback for a run whose validation loss never rose far above its start."""
    return failed(
        _(
            "At {rate_text} the validation curve shows no problem ({curve}; the lesson's run ended at {reference_last:.3f}): "
            "the model still learns at this rate."
        ).format(rate_text=_rate_text(curve), curve=_curve_text(curve), reference_last=curve.reference_last),
        _raise_the_rate(),
    )


def _recovered(curve: _Curve) -> Feedback:
    """Return the failed Feedback for a run whose validation loss jumped, then came back to about the lesson's."""
    return failed(
        _(
            "At {rate_text} validation loss jumped ({curve}), "
            "but it recovered to about the lesson's run ({reference_last:.3f}) by the end."
        ).format(rate_text=_rate_text(curve), curve=_curve_text(curve), reference_last=curve.reference_last),
        _raise_the_rate(),
    )


def _not_far_too_high(curve: _Curve) -> Feedback:
    """Return the failed Feedback for a run that went wrong at a rate only a little above the lesson's."""
    return failed(
        _("Validation loss rose ({curve}), but {rate_text} is not far too high: something else spoiled this run.").format(
            curve=_curve_text(curve), rate_text=_rate_text(curve)
        ),
        _("keep the lesson's other settings and change only learning_rate, e.g. to 3e-2."),
    )


def _turned_up(curve: _Curve) -> Feedback:
    """Return the success Feedback for a run whose validation loss turned up and stayed far above the lesson's."""
    # The peak is well above the start (an earlier verdict saw to that), so somewhere the curve rises.
    before, turn = curve.turn
    if curve.last.loss > curve.start.loss:
        message = _(
            "At {rate_text}, validation loss turned up at step {turn_step} ({before:.3f} {before_text} → {turn:.3f}), "
            "peaked at {peak:.3f} at step {peak_step}, and ended at {last:.3f}: "
            "above where it started, and far above the lesson's run ({reference_last:.3f})."
        )
    else:
        message = _(
            "At {rate_text}, validation loss turned up at step {turn_step} ({before:.3f} {before_text} → {turn:.3f}), "
            "peaked at {peak:.3f} at step {peak_step}, and ended at {last:.3f}: "
            "back below its start, but far above the lesson's run ({reference_last:.3f})."
        )
    message = message.format(
        rate_text=_rate_text(curve), turn_step=turn.step, before=before.loss, before_text=_when(curve, before), turn=turn.loss,
        peak=curve.peak.loss, peak_step=curve.peak.step, last=curve.last.loss, reference_last=curve.reference_last,
    )
    if curve.training is not None and curve.training[1] > curve.training[0]:
        message += " " + _(
            "Training loss rose too ({first:.2f} → {last:.2f}): unlike over-fitting, "
            "the model does not even learn its training set. Its steps are too big."
        ).format(first=curve.training[0], last=curve.training[1])
    return passed(message)


# The verdicts on a readable curve, in the order they are tried: the first whose condition holds gives the feedback.
_VERDICTS: tuple[tuple[Callable[[_Curve], bool], Callable[[_Curve], Feedback]], ...] = (
    (lambda curve: curve.blown_up is not None, _blew_up),
    (lambda curve: curve.peak.loss <= _CLEARLY_WORSE * curve.start.loss, _shows_no_problem),
    (lambda curve: curve.last.loss <= _CLEARLY_WORSE * curve.reference_last, _recovered),
    (lambda curve: bool(curve.rate and curve.reference_rate and curve.rate < _FAR_ABOVE * curve.reference_rate), _not_far_too_high),
    (lambda curve: True, _turned_up),
)


def check_too_high_learning_rate(run: Trainer | list[dict] | None, reference: Trainer | list[dict]) -> Feedback:
    """Return Feedback, truthy when the learner's run shows a learning rate too high on its validation curve (train)."""
    if run is None:
        return not_attempted(_("your trainer, after its .train()"))
    history, reference_history = _log_history(run), _log_history(reference)
    problem = _unreadable(run, history, reference_history)
    if problem is not None:
        return problem
    curve = _read_curve(history, reference_history)
    return next(verdict(curve) for applies, verdict in _VERDICTS if applies(curve))
