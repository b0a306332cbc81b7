"""Checks for lesson 3's exercises (validation monitoring)."""

from __future__ import annotations

import tempfile

from transformers import EarlyStoppingCallback, TrainerCallback, TrainerControl, TrainerState
from trl import SFTConfig

from helpers.exercises import Feedback, failed, not_attempted, passed
from helpers.exercises.fine_tuning import unknown_argument

# A replayed over-fitting run (rounded from lesson 3's): training loss falls, validation loss turns up at step 4.
_TRAIN_LOSS = [2.07, 1.38, 0.92, 0.53, 0.27, 0.13, 0.08, 0.05]
_VALIDATION_LOSS = [1.45, 1.25, 1.12, 1.19, 1.26, 1.44, 1.57, 1.63]


def check_best_step(step: int | None, accuracy: float | None, log_history: list[dict]) -> Feedback:
    """Return Feedback, truthy when step and accuracy are those of the lowest validation loss in log_history (easy)."""
    if step is None or accuracy is None:
        return not_attempted("the step (an int) and the validation accuracy there (a float)")
    evaluations = [entry for entry in log_history if "eval_loss" in entry]
    if not evaluations:
        return failed("This log history has no evaluations.", "pass overfit.state.log_history from section 4.")
    best = min(evaluations, key=lambda entry: entry["eval_loss"])
    lowest_train = min((entry for entry in log_history if "loss" in entry), key=lambda entry: entry["loss"], default=None)
    if step != best["step"]:
        if lowest_train is not None and step == lowest_train["step"]:
            return failed(f"Step {step} has the lowest *training* loss.", "look at eval_loss, the validation loss.")
        return failed(f"Step {step} is not where the validation loss is lowest.", "find the smallest eval_loss.")
    if "eval_mean_token_accuracy" not in best:
        return failed("This log history has no validation token accuracy.", "pass overfit.state.log_history from section 4.")
    if abs(accuracy - best["eval_mean_token_accuracy"]) > 1e-3:
        if abs(accuracy - best.get("eval_entropy", -1.0)) <= 1e-3:
            return failed("That number is the validation entropy.", "eval_mean_token_accuracy is the accuracy.")
        return failed(f"Right step; {accuracy} is not the validation token accuracy there.", "eval_mean_token_accuracy.")
    return passed(
        f"Step {step}: validation loss {best['eval_loss']:.3f}, token accuracy {accuracy:.3f}. "
        "Every step after it made the model worse on unseen conversations."
    )


def check_stop_on_accuracy(settings: dict | None, stopper: EarlyStoppingCallback | None) -> Feedback:
    """Return Feedback, truthy for settings and a callback that stop on validation token accuracy (medium)."""
    if settings is None or stopper is None:
        return not_attempted("a dict of SFTConfig arguments and an EarlyStoppingCallback")
    if not isinstance(settings, dict):
        return failed(f"Expected a dict of SFTConfig arguments, got {type(settings).__name__}.")
    if not isinstance(stopper, EarlyStoppingCallback):
        return failed(f"Expected an EarlyStoppingCallback, got {type(stopper).__name__}.")
    unknown = unknown_argument(settings)
    if unknown is not None:
        return unknown
    # Built on the CPU in float32 for the check only: TRL's bf16 default needs a GPU or use_cpu.
    values = {"output_dir": tempfile.gettempdir(), "use_cpu": True, "bf16": False, "report_to": "none"} | settings
    try:
        config = SFTConfig(**values)
    except (ValueError, TypeError) as error:
        return failed(f"SFTConfig refused these settings: {error}")
    if (config.eval_strategy.value, config.eval_steps) != ("steps", 5):
        return failed("The run should evaluate every 5 steps.", 'eval_strategy="steps", eval_steps=5.')
    if (config.save_strategy.value, config.save_steps, config.save_total_limit) != ("steps", 5, 3):
        return failed("Checkpoints every 5 steps, at most 3 kept.", 'save_strategy="steps", save_steps=5, save_total_limit=3.')
    if not config.load_best_model_at_end:
        return failed("The best checkpoint would not be loaded at the end.", "load_best_model_at_end=True.")
    if config.metric_for_best_model not in ("eval_mean_token_accuracy", "mean_token_accuracy"):
        return failed(
            f"The best checkpoint is chosen by {config.metric_for_best_model!r}.",
            'metric_for_best_model="eval_mean_token_accuracy".',
        )
    if not config.greater_is_better:
        return failed("For accuracy, higher is better: this would keep the worst checkpoint.", "greater_is_better=True.")
    if stopper.early_stopping_patience != 3:
        return failed(f"The callback waits {stopper.early_stopping_patience} evaluations.", "early_stopping_patience=3.")
    try:  # the callback's own check of the config, as the trainer runs it when training begins
        stopper.on_train_begin(config, TrainerState(), TrainerControl())
    except AssertionError as error:
        return failed(f"EarlyStoppingCallback refused the config: {error}")
    return passed("Evaluates and saves every 5 steps, keeps 3 checkpoints, restores the most accurate, stops after 3 flat evaluations.")


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
        return not_attempted("your TrainerCallback subclass (the class itself, not an instance)")
    if not (isinstance(alarm_class, type) and issubclass(alarm_class, TrainerCallback)):
        return failed("Expected a class that subclasses transformers.TrainerCallback.", "class GapAlarm(TrainerCallback): ...")
    # Gaps in the replay: -0.62, -0.13, 0.20, 0.66, 0.99, 1.31, 1.49, 1.58.
    for max_gap, expected in ((0.5, 4), (1.2, 6), (2.0, None)):
        try:
            alarm = alarm_class(max_gap=max_gap)
        except TypeError as error:
            return failed(f"GapAlarm(max_gap={max_gap}) failed: {error}", "the constructor takes max_gap.")
        try:
            stopped = _replay(alarm)
        except Exception as error:  # a learner's callback can fail in any way; say where
            return failed(f"Your callback raised {type(error).__name__}: {error}")
        if stopped != expected:
            where = "never stopped" if stopped is None else f"stopped at step {stopped}"
            should = "not stop at all" if expected is None else f"stop at step {expected}"
            return failed(
                f"With max_gap={max_gap} it {where}; it should {should}.",
                "compare the validation loss with the *latest* training loss, and stop only when the gap exceeds max_gap.",
            )
    return passed("It stops at the first evaluation where validation loss exceeds training loss by more than max_gap.")
