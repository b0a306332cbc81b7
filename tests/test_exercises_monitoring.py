"""Tests for helpers.exercises.monitoring: lesson 3's checks.

Best step, stop on accuracy, an over-fitting alarm, a learning rate too high.
"""

import pytest
from feedback_asserts import fails_with, in_vietnamese, not_attempted, passes
from transformers import EarlyStoppingCallback, TrainerCallback, TrainerState

from helpers.exercises import fine_tuning
from helpers.exercises import monitoring as check

# ── unknown_argument (lesson 2's helper, shared by the medium check) ──────────────────────────────


def test_unknown_argument_accepts_sftconfig_arguments():
    assert fine_tuning.unknown_argument({"eval_strategy": "steps", "eval_steps": 5, "max_length": 512}) is None


def test_unknown_argument_accepts_no_arguments():
    assert fine_tuning.unknown_argument({}) is None


@pytest.mark.parametrize(("old", "new"), [("evaluation_strategy", "eval_strategy"), ("max_seq_length", "max_length")])
def test_unknown_argument_names_the_new_name_of_a_renamed_one(old, new):
    fails_with(fine_tuning.unknown_argument({"eval_steps": 5, old: "x"}), f"no argument {old!r} any more", f"{new} now")


def test_unknown_argument_names_a_misspelled_one():
    feedback = fine_tuning.unknown_argument({"eval_steps": 5, "early_stopping_patience": 3})
    fails_with(feedback, "no argument 'early_stopping_patience'", "spelling")


def test_unknown_argument_names_the_first_unknown_key():
    fails_with(fine_tuning.unknown_argument({"evl_steps": 5, "sav_steps": 5}), "'evl_steps'")


# ── easy: the best step and its accuracy ──────────────────────────────────────────────────────────

# Training loss keeps falling (lowest at step 4); validation loss is lowest at step 2.
LOG_HISTORY = [
    {"loss": 2.0, "mean_token_accuracy": 0.50, "step": 1},
    {"eval_loss": 1.60, "eval_mean_token_accuracy": 0.55, "eval_entropy": 1.30, "step": 1},
    {"loss": 1.2, "mean_token_accuracy": 0.65, "step": 2},
    {"eval_loss": 1.40, "eval_mean_token_accuracy": 0.612, "eval_entropy": 1.05, "step": 2},
    {"loss": 0.6, "mean_token_accuracy": 0.80, "step": 3},
    {"eval_loss": 1.50, "eval_mean_token_accuracy": 0.60, "eval_entropy": 0.90, "step": 3},
    {"loss": 0.2, "mean_token_accuracy": 0.93, "step": 4},
    {"eval_loss": 1.75, "eval_mean_token_accuracy": 0.59, "eval_entropy": 0.70, "step": 4},
    {"train_runtime": 10.0, "train_loss": 1.0, "step": 4},
]


@pytest.mark.parametrize(("step", "accuracy"), [(None, None), (2, None), (None, 0.612)])
def test_best_step_not_attempted(step, accuracy):
    not_attempted(check.check_best_step(step, accuracy, LOG_HISTORY))


def test_best_step_correct():
    feedback = check.check_best_step(2, 0.612, LOG_HISTORY)
    passes(feedback)
    assert "Step 2" in feedback.message and "1.400" in feedback.message


def test_best_step_accuracy_rounded_to_three_decimals_is_accepted():
    passes(check.check_best_step(2, 0.6124, LOG_HISTORY))


def test_best_step_lowest_training_loss():
    fails_with(check.check_best_step(4, 0.93, LOG_HISTORY), "Step 4 has the lowest *training* loss", "eval_loss")


def test_best_step_some_other_step():
    fails_with(check.check_best_step(3, 0.60, LOG_HISTORY), "Step 3 is not where the validation loss is lowest")


def test_best_step_entropy_instead_of_accuracy():
    fails_with(check.check_best_step(2, 1.05, LOG_HISTORY), "validation entropy", "eval_mean_token_accuracy")


def test_best_step_training_accuracy_instead_of_validation():
    fails_with(check.check_best_step(2, 0.65, LOG_HISTORY), "Right step", "not the validation token accuracy")


def test_best_step_history_without_evaluations():
    history = [entry for entry in LOG_HISTORY if "eval_loss" not in entry]
    fails_with(check.check_best_step(2, 0.612, history), "no evaluations")


def test_best_step_history_of_evaluations_only():
    # e.g. a learner who passes only the evaluation entries
    evaluations = [entry for entry in LOG_HISTORY if "eval_loss" in entry]
    passes(check.check_best_step(2, 0.612, evaluations))


# ── medium: stop on accuracy ──────────────────────────────────────────────────────────────────────

SETTINGS = {
    "output_dir": "outputs/exercise",
    "eval_strategy": "steps",
    "eval_steps": 5,
    "save_strategy": "steps",
    "save_steps": 5,
    "save_total_limit": 3,
    "load_best_model_at_end": True,
    "metric_for_best_model": "eval_mean_token_accuracy",
    "greater_is_better": True,
}


def _stopper(patience=3):
    return EarlyStoppingCallback(early_stopping_patience=patience)


def _without(settings, key):
    return {name: value for name, value in settings.items() if name != key}


@pytest.mark.parametrize(("settings", "stopper"), [(None, None), (SETTINGS, None), (None, "callback")])
def test_stop_not_attempted(settings, stopper):
    not_attempted(check.check_stop_on_accuracy(settings, _stopper() if stopper else None))


def test_stop_correct():
    passes(check.check_stop_on_accuracy(SETTINGS, _stopper()))


def test_stop_metric_without_eval_prefix_is_accepted():
    # The trainer adds the eval_ prefix itself, so "mean_token_accuracy" names the same metric.
    passes(check.check_stop_on_accuracy(SETTINGS | {"metric_for_best_model": "mean_token_accuracy"}, _stopper()))


def test_stop_greater_is_better_left_to_the_default_is_accepted():
    # TrainingArguments sets greater_is_better=True for a metric whose name does not end in "loss".
    passes(check.check_stop_on_accuracy(_without(SETTINGS, "greater_is_better"), _stopper()))


def test_stop_without_output_dir_is_accepted():
    passes(check.check_stop_on_accuracy(_without(SETTINGS, "output_dir"), _stopper()))


def test_stop_does_not_mutate_the_learners_settings():
    settings = dict(SETTINGS)
    check.check_stop_on_accuracy(settings, _stopper())
    assert settings == SETTINGS


def test_stop_settings_not_a_dict():
    fails_with(check.check_stop_on_accuracy(list(SETTINGS.items()), _stopper()), "Expected a dict", "list")


def test_stop_callback_not_an_early_stopping_callback():
    fails_with(check.check_stop_on_accuracy(SETTINGS, TrainerCallback()), "Expected an EarlyStoppingCallback", "TrainerCallback")


def test_stop_callback_class_instead_of_instance():
    fails_with(check.check_stop_on_accuracy(SETTINGS, EarlyStoppingCallback), "Expected an EarlyStoppingCallback", "type")


def test_stop_evaluation_strategy_is_called_eval_strategy_now():
    settings = _without(SETTINGS, "eval_strategy") | {"evaluation_strategy": "steps"}
    fails_with(check.check_stop_on_accuracy(settings, _stopper()), "'evaluation_strategy' any more", "eval_strategy now")


def test_stop_patience_as_an_sftconfig_argument():
    settings = SETTINGS | {"early_stopping_patience": 3}
    fails_with(check.check_stop_on_accuracy(settings, _stopper()), "no argument 'early_stopping_patience'")


def test_stop_save_steps_not_a_multiple_of_eval_steps():
    feedback = check.check_stop_on_accuracy(SETTINGS | {"save_steps": 7}, _stopper())
    fails_with(feedback, "SFTConfig refused these settings", "round multiple")


def test_stop_save_strategy_not_matching_eval_strategy():
    feedback = check.check_stop_on_accuracy(SETTINGS | {"save_strategy": "epoch"}, _stopper())
    fails_with(feedback, "SFTConfig refused these settings", "strategy to match")


def test_stop_evaluating_every_10_steps():
    feedback = check.check_stop_on_accuracy(SETTINGS | {"eval_steps": 10, "save_steps": 10}, _stopper())
    fails_with(feedback, "evaluate every 5 steps", "eval_steps=5")


def test_stop_without_eval_strategy():
    settings = _without(SETTINGS, "eval_strategy") | {"load_best_model_at_end": False}
    fails_with(check.check_stop_on_accuracy(settings, _stopper()), "evaluate every 5 steps")


def test_stop_saving_every_10_steps():
    feedback = check.check_stop_on_accuracy(SETTINGS | {"save_steps": 10}, _stopper())
    fails_with(feedback, "Checkpoints every 5 steps", "save_steps=5")


def test_stop_without_save_total_limit():
    feedback = check.check_stop_on_accuracy(_without(SETTINGS, "save_total_limit"), _stopper())
    fails_with(feedback, "at most 3 kept", "save_total_limit=3")


def test_stop_without_load_best_model_at_end():
    feedback = check.check_stop_on_accuracy(_without(SETTINGS, "load_best_model_at_end"), _stopper())
    fails_with(feedback, "would not be loaded", "load_best_model_at_end=True")


def test_stop_metric_is_eval_loss():
    settings = SETTINGS | {"metric_for_best_model": "eval_loss", "greater_is_better": False}
    fails_with(check.check_stop_on_accuracy(settings, _stopper()), "chosen by 'eval_loss'", "eval_mean_token_accuracy")


def test_stop_without_metric_for_best_model():
    # load_best_model_at_end alone makes TrainingArguments choose by loss.
    feedback = check.check_stop_on_accuracy(_without(SETTINGS, "metric_for_best_model"), _stopper())
    fails_with(feedback, "chosen by 'loss'")


def test_stop_greater_is_better_false():
    feedback = check.check_stop_on_accuracy(SETTINGS | {"greater_is_better": False}, _stopper())
    fails_with(feedback, "higher is better", "worst checkpoint", "greater_is_better=True")


def test_stop_patience_2():
    fails_with(check.check_stop_on_accuracy(SETTINGS, _stopper(2)), "waits 2 evaluations", "early_stopping_patience=3")


# ── hard: an over-fitting alarm ───────────────────────────────────────────────────────────────────


class GapAlarm(TrainerCallback):
    """The lesson's solution: at each evaluation, compare with the latest training loss in the log history."""

    def __init__(self, max_gap):
        self.max_gap = max_gap

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        train_losses = [entry["loss"] for entry in state.log_history if "loss" in entry]
        if train_losses and metrics["eval_loss"] - train_losses[-1] > self.max_gap:
            control.should_training_stop = True


class RememberingGapAlarm(TrainerCallback):
    """Another correct one: remember the latest training loss from on_log, compare in on_evaluate."""

    def __init__(self, max_gap=0.5):
        self.max_gap = max_gap
        self.train_loss = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.train_loss = logs["loss"]

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if self.train_loss is not None and metrics["eval_loss"] - self.train_loss > self.max_gap:
            control.should_training_stop = True


class FirstLossAlarm(GapAlarm):
    """Mistake: compares with the first training loss, not the latest."""

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        first = next(entry["loss"] for entry in state.log_history if "loss" in entry)
        if metrics["eval_loss"] - first > self.max_gap:
            control.should_training_stop = True


class OnLogAlarm(GapAlarm):
    """Mistake: checks when a training loss is logged, against the previous evaluation's loss."""

    def on_log(self, args, state, control, logs=None, **kwargs):
        evaluations = [entry["eval_loss"] for entry in state.log_history if "eval_loss" in entry]
        if "loss" in logs and evaluations and evaluations[-1] - logs["loss"] > self.max_gap:
            control.should_training_stop = True

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        pass


class AbsoluteGapAlarm(GapAlarm):
    """Mistake: the absolute gap, so validation loss far *below* training loss (the first step) stops it too."""

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        train_losses = [entry["loss"] for entry in state.log_history if "loss" in entry]
        if abs(metrics["eval_loss"] - train_losses[-1]) > self.max_gap:
            control.should_training_stop = True


class NeverStops(GapAlarm):
    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        pass


class NoMaxGap(TrainerCallback):
    """Mistake: the constructor takes no max_gap."""

    def __init__(self, threshold=0.5):
        self.threshold = threshold


class Crashes(GapAlarm):
    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        raise KeyError("loss")


class NotACallback:
    def __init__(self, max_gap):
        self.max_gap = max_gap

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        pass


def test_gap_alarm_not_attempted():
    not_attempted(check.check_gap_alarm(None))


@pytest.mark.parametrize("alarm", [GapAlarm, RememberingGapAlarm])
def test_gap_alarm_correct(alarm):
    passes(check.check_gap_alarm(alarm))


def test_gap_alarm_replay_stops_where_the_gap_first_exceeds_max_gap():
    assert check._replay(GapAlarm(max_gap=0.5)) == 4
    assert check._replay(GapAlarm(max_gap=1.2)) == 6
    assert check._replay(GapAlarm(max_gap=2.0)) is None


def test_gap_alarm_comparing_with_the_first_training_loss():
    fails_with(check.check_gap_alarm(FirstLossAlarm), "max_gap=0.5 it never stopped", "stop at step 4", "*latest*")


def test_gap_alarm_stopping_on_log():
    fails_with(check.check_gap_alarm(OnLogAlarm), "max_gap=1.2 it stopped at step 7", "stop at step 6")


def test_gap_alarm_with_the_absolute_gap():
    fails_with(check.check_gap_alarm(AbsoluteGapAlarm), "max_gap=0.5 it stopped at step 1", "stop at step 4")


def test_gap_alarm_that_never_stops():
    fails_with(check.check_gap_alarm(NeverStops), "never stopped")


def test_gap_alarm_not_a_trainer_callback():
    fails_with(check.check_gap_alarm(NotACallback), "subclasses transformers.TrainerCallback")


def test_gap_alarm_instance_instead_of_class():
    fails_with(check.check_gap_alarm(GapAlarm(max_gap=0.5)), "Expected a class", "TrainerCallback")


def test_gap_alarm_constructor_without_max_gap():
    fails_with(check.check_gap_alarm(NoMaxGap), "GapAlarm(max_gap=0.5) failed", "max_gap", "constructor takes max_gap")


def test_gap_alarm_that_raises_is_reported():
    fails_with(check.check_gap_alarm(Crashes), "Your callback raised KeyError")


class ComparesWithNone(GapAlarm):
    """Forgot to record the training loss: subtracting None raises TypeError inside on_evaluate."""

    def __init__(self, max_gap):
        self.max_gap = max_gap
        self.train_loss = None

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if metrics["eval_loss"] - self.train_loss > self.max_gap:
            control.should_training_stop = True


def test_gap_alarm_type_error_in_a_callback_is_not_blamed_on_the_constructor():
    feedback = check.check_gap_alarm(ComparesWithNone)
    fails_with(feedback, "Your callback raised TypeError")
    assert "constructor" not in feedback.message


class EvaluatesOnLog(TrainerCallback):
    """Correct in a real Trainer, which calls on_log with the evaluation's metrics before on_evaluate."""

    def __init__(self, max_gap):
        self.max_gap = max_gap
        self.train_loss = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        if "loss" in logs:
            self.train_loss = logs["loss"]
        elif "eval_loss" in logs and self.train_loss is not None and logs["eval_loss"] - self.train_loss > self.max_gap:
            control.should_training_stop = True


def test_gap_alarm_replay_logs_evaluations_as_the_trainer_does():
    passes(check.check_gap_alarm(EvaluatesOnLog))


# ── train: a learning rate too high ───────────────────────────────────────────────────────────────

# The lesson's run (section 3): validation loss falls from the untrained model's 1.832 to 1.001.
REFERENCE = [
    {"eval_loss": 1.832, "step": 0},
    {"loss": 2.08, "learning_rate": 1e-3, "step": 1},
    {"eval_loss": 1.411, "step": 2},
    {"loss": 1.35, "learning_rate": 6e-4, "step": 5},
    {"eval_loss": 1.109, "step": 6},
    {"loss": 0.95, "learning_rate": 1e-4, "step": 10},
    {"eval_loss": 1.001, "step": 10},
]


def _run(validation, learning_rate=3e-2, train=(2.16, 10.29), steps=12):
    """A log history: two training entries (first and last step) and one evaluation per (step, loss) pair."""
    history = [
        {"loss": train[0], "learning_rate": learning_rate, "step": 1},
        {"loss": train[1], "learning_rate": learning_rate / steps, "step": steps},
    ]
    return history + [{"eval_loss": loss, "step": step} for step, loss in validation]


# Shaped like the measured runs (12 steps, an evaluation every 3): 30x the lesson's rate, and 10x.
TOO_HIGH = _run([(0, 1.832), (3, 12.421), (6, 16.193), (9, 12.768), (12, 9.608)])
GENTLE = _run([(0, 1.832), (3, 1.704), (6, 1.096), (9, 0.956), (12, 0.859)], learning_rate=1e-2, train=(2.16, 0.64))


class _Trained:
    """Stands in for a trainer: only its state.log_history is read."""

    def __init__(self, log_history):
        self.state = TrainerState(log_history=log_history)


def test_too_high_not_attempted():
    not_attempted(check.check_too_high_learning_rate(None, REFERENCE))


def test_too_high_rising_validation_loss_passes_with_the_numbers():
    feedback = check.check_too_high_learning_rate(TOO_HIGH, REFERENCE)
    passes(feedback)
    for phrase in ("30× the lesson's 0.001", "turned up at step 3", "1.832 before training → 12.421",
                   "peaked at 16.193 at step 6", "ended at 9.608", "above where it started", "lesson's run (1.001)",
                   "Training loss rose too (2.16 → 10.29)"):
        assert phrase in feedback.message, feedback.message


def test_too_high_accepts_trainers_and_trainer_states_as_well_as_log_histories():
    passes(check.check_too_high_learning_rate(_Trained(TOO_HIGH), _Trained(REFERENCE)))
    passes(check.check_too_high_learning_rate(_Trained(TOO_HIGH).state, _Trained(REFERENCE).state))


def test_too_high_without_an_evaluation_before_training_starts_from_the_lessons():
    history = [entry for entry in TOO_HIGH if entry["step"] != 0]
    feedback = check.check_too_high_learning_rate(history, REFERENCE)
    passes(feedback)
    assert "1.832 before training, in the lesson's run → 12.421" in feedback.message, feedback.message


def test_too_high_turn_after_a_first_dip_is_where_it_rises():
    feedback = check.check_too_high_learning_rate(_run([(0, 1.832), (3, 1.5), (6, 6.0), (9, 5.0), (12, 4.0)]), REFERENCE)
    passes(feedback)
    assert "turned up at step 6 (1.500 at step 3 → 6.000)" in feedback.message, feedback.message


def test_too_high_ending_below_the_start_but_far_above_the_lessons_run_passes():
    feedback = check.check_too_high_learning_rate(_run([(0, 1.832), (3, 9.0), (6, 4.0), (9, 2.0), (12, 1.7)]), REFERENCE)
    passes(feedback)
    assert "back below its start, but far above" in feedback.message, feedback.message


def test_too_high_nan_validation_loss_passes():
    history = _run([(0, 1.832), (3, 12.4), (6, float("nan")), (9, float("nan")), (12, float("nan"))])
    feedback = check.check_too_high_learning_rate(history, REFERENCE)
    passes(feedback)
    assert "became nan at step 6" in feedback.message, feedback.message


def test_too_high_gentle_run_fails_with_a_higher_rate_as_hint():
    feedback = check.check_too_high_learning_rate(GENTLE, REFERENCE)
    fails_with(feedback, "10× the lesson's 0.001", "shows no problem", "0.859 at step 12", "ended at 1.001", "3e-2")


def test_too_high_at_the_lessons_own_rate_fails():
    history = _run([(0, 1.832), (3, 1.4), (6, 1.2), (9, 1.1), (12, 1.05)], learning_rate=1e-3, train=(2.16, 1.0))
    fails_with(check.check_too_high_learning_rate(history, REFERENCE), "1× the lesson's", "shows no problem")


def test_too_high_small_bump_is_not_enough():
    # Validation loss a little above its start: noise, not a broken run.
    history = _run([(0, 1.832), (3, 2.1), (6, 2.3), (9, 2.2), (12, 2.2)], learning_rate=1.5e-2)
    fails_with(check.check_too_high_learning_rate(history, REFERENCE), "shows no problem")


def test_too_high_run_that_recovers_fails():
    history = _run([(0, 1.832), (3, 9.0), (6, 3.0), (9, 1.2), (12, 1.1)], learning_rate=1.5e-2)
    fails_with(check.check_too_high_learning_rate(history, REFERENCE), "jumped", "recovered", "raise learning_rate")


def test_too_high_rising_curve_at_a_modest_rate_is_blamed_on_something_else():
    history = _run([(0, 1.832), (3, 9.0), (6, 3.0), (9, 3.0), (12, 3.0)], learning_rate=2e-3)
    fails_with(check.check_too_high_learning_rate(history, REFERENCE), "2× the lesson's", "not far too high", "only learning_rate")


def test_too_high_without_evaluations_fails_with_the_eval_strategy_hint():
    history = [entry for entry in TOO_HIGH if "eval_loss" not in entry]
    feedback = check.check_too_high_learning_rate(history, REFERENCE)
    fails_with(feedback, "No validation loss was logged", 'eval_strategy="steps"', "eval_steps=3")


def test_too_high_too_few_steps_fails():
    history = _run([(0, 1.832), (2, 5.0), (4, 9.0)], steps=4)
    fails_with(check.check_too_high_learning_rate(history, REFERENCE), "Only 4 steps ran", "max_steps=12")


def test_too_high_too_few_evaluations_fails():
    history = _run([(0, 1.832), (12, 9.6)])
    fails_with(check.check_too_high_learning_rate(history, REFERENCE), "Only 2 evaluation(s)", "eval_steps=3")


def test_too_high_untrained_trainer_fails():
    fails_with(check.check_too_high_learning_rate(_Trained([]), REFERENCE), "has not trained yet", ".train()")


def test_too_high_not_a_trainer():
    fails_with(check.check_too_high_learning_rate("too_high", REFERENCE), "Expected your trainer", "str")


def test_too_high_reference_without_evaluations():
    reference = [entry for entry in REFERENCE if "eval_loss" not in entry]
    fails_with(check.check_too_high_learning_rate(TOO_HIGH, reference), "reference run has no validation loss", "`trainer`")


def test_too_high_without_logged_learning_rates_still_reads_the_curve():
    history = [{key: value for key, value in entry.items() if key != "learning_rate"} for entry in TOO_HIGH]
    feedback = check.check_too_high_learning_rate(history, REFERENCE)
    passes(feedback)
    assert feedback.message.startswith("✅ At this learning rate"), feedback.message



def test_reading_a_curve_gives_the_facts_the_feedback_is_made_of():
    curve = check._read_curve(TOO_HIGH, REFERENCE)
    assert (curve.rate, curve.reference_rate) == (3e-2, 1e-3)
    assert (curve.start, curve.peak, curve.last) == ((0, 1.832), (6, 16.193), (12, 9.608))
    assert curve.turn == ((0, 1.832), (3, 12.421))  # the evaluation before the first rise, and the rise
    assert not curve.start_from_reference and curve.blown_up is None
    assert (curve.reference_last, curve.training) == (1.001, (2.16, 10.29))


def test_reading_a_curve_without_a_start_borrows_the_lessons_and_finds_where_it_blew_up():
    history = _run([(3, 1.5), (6, 6.0), (9, float("inf")), (12, 4.0)])
    history = [{key: value for key, value in entry.items() if key != "learning_rate"} for entry in history]
    curve = check._read_curve(history, REFERENCE)
    assert curve.start_from_reference and curve.start == (0, 1.832)  # the untrained model's, from the lesson's run
    assert curve.turn == ((3, 1.5), (6, 6.0)) and curve.blown_up == (9, float("inf"))
    assert (curve.rate, curve.reference_rate) == (None, 1e-3)
    reference = [entry for entry in REFERENCE if entry["step"] != 0]
    assert check._read_curve(history, reference).start == (3, 1.5)  # neither run evaluated before training

# ── the Vietnamese edition ────────────────────────────────────────────────────────────────────────


def test_a_check_speaks_vietnamese_in_the_vietnamese_notebooks(vietnamese):
    history = [{"loss": 2.07, "step": 1}]
    english = check.check_best_step(1, 0.5, history).message
    assert english == "❌ This log history has no evaluations.\n💡 Hint: pass overfit.state.log_history from section 4."
    expected = in_vietnamese(vietnamese, "This log history has no evaluations.", "pass overfit.state.log_history from section 4.")
    vietnamese.on()
    assert check.check_best_step(1, 0.5, history).message == expected != english
