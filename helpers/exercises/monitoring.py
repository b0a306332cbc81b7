"""Checks for lesson 3's exercises (validation monitoring)."""

from __future__ import annotations

import math
import tempfile

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


def check_too_high_learning_rate(run: Trainer | list[dict] | None, reference: Trainer | list[dict]) -> Feedback:
    """Return Feedback, truthy when the learner's run shows a learning rate too high on its validation curve (train)."""
    if run is None:
        return not_attempted(_("your trainer, after its .train()"))
    history, reference_history = _log_history(run), _log_history(reference)
    if history is None:
        return failed(_("Expected your trainer (or its state.log_history), got {type_name}.").format(type_name=type(run).__name__))
    if reference_history is None or not any("eval_loss" in entry for entry in reference_history):
        return failed(_("The reference run has no validation loss."), _("pass the lesson's run of section 3, `trainer`."))
    if not history:
        return failed(
            _("This trainer has not trained yet: its log history is empty."), _("call .train() on it, then run this cell again.")
        )
    evaluations = sorted((entry for entry in history if "eval_loss" in entry), key=lambda entry: entry["step"])
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

    rate, reference_rate = _peak_learning_rate(history), _peak_learning_rate(reference_history)
    if rate and reference_rate:
        rate_text = _("learning rate {rate:g} ({ratio:.2g}× the lesson's {reference_rate:g})").format(
            rate=rate, ratio=rate / reference_rate, reference_rate=reference_rate
        )
    elif rate:
        rate_text = _("learning rate {rate:g}").format(rate=rate)
    else:
        rate_text = _("this learning rate")
    hint = _("raise learning_rate, e.g. to 30× the lesson's (3e-2), and train again.")

    blown_up = next((entry for entry in evaluations if not math.isfinite(entry["eval_loss"])), None)
    if blown_up is not None:
        return passed(
            _(
                "At {rate_text}, validation loss became {loss} at step {step}: "
                "the weights blew up. A learning rate far too high does not learn slowly, it breaks the model."
            ).format(rate_text=rate_text, loss=blown_up["eval_loss"], step=blown_up["step"])
        )

    # Where the curve starts: this run's evaluation before training, else the untrained model's in the reference run.
    reference_evaluations = sorted((entry for entry in reference_history if "eval_loss" in entry), key=lambda entry: entry["step"])
    points = [(entry["step"], entry["eval_loss"]) for entry in evaluations]
    start_text = _("before training")
    if points[0][0] != 0:
        if reference_evaluations[0]["step"] == 0:
            points.insert(0, (0, reference_evaluations[0]["eval_loss"]))
            start_text = _("before training, in the lesson's run")
        else:
            start_text = _("at step {step}").format(step=points[0][0])
    start = points[0][1]
    peak_step, peak = max(points[1:], key=lambda point: point[1])
    last_step, last = points[-1]
    reference_last = reference_evaluations[-1]["eval_loss"]
    curve = _("{start:.3f} {start_text}, highest {peak:.3f} at step {peak_step}, {last:.3f} at step {last_step}").format(
        start=start, start_text=start_text, peak=peak, peak_step=peak_step, last=last, last_step=last_step
    )

    if peak <= _CLEARLY_WORSE * start:
        return failed(
            _(
                "At {rate_text} the validation curve shows no problem ({curve}; the lesson's run ended at {reference_last:.3f}): "
                "the model still learns at this rate."
            ).format(rate_text=rate_text, curve=curve, reference_last=reference_last),
            hint,
        )
    if last <= _CLEARLY_WORSE * reference_last:
        return failed(
            _(
                "At {rate_text} validation loss jumped ({curve}), "
                "but it recovered to about the lesson's run ({reference_last:.3f}) by the end."
            ).format(rate_text=rate_text, curve=curve, reference_last=reference_last),
            hint,
        )
    if rate and reference_rate and rate < _FAR_ABOVE * reference_rate:
        return failed(
            _("Validation loss rose ({curve}), but {rate_text} is not far too high: something else spoiled this run.").format(
                curve=curve, rate_text=rate_text
            ),
            _("keep the lesson's other settings and change only learning_rate, e.g. to 3e-2."),
        )

    # The peak is well above the start, so somewhere the curve rises from one evaluation to the next.
    (before_step, before), (turn_step, turn) = next(pair for pair in zip(points, points[1:]) if pair[1][1] > pair[0][1])
    before_text = start_text if before_step == points[0][0] else _("at step {step}").format(step=before_step)
    if last > start:
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
        rate_text=rate_text,
        turn_step=turn_step,
        before=before,
        before_text=before_text,
        turn=turn,
        peak=peak,
        peak_step=peak_step,
        last=last,
        reference_last=reference_last,
    )
    train_losses = [entry["loss"] for entry in history if "loss" in entry]
    if len(train_losses) >= 2 and train_losses[-1] > train_losses[0]:
        message += " " + _(
            "Training loss rose too ({first:.2f} → {last:.2f}): unlike over-fitting, "
            "the model does not even learn its training set. Its steps are too big."
        ).format(first=train_losses[0], last=train_losses[-1])
    return passed(message)
