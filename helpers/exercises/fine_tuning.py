"""Checks for the exercises of lessons 2 and 2b (supervised fine-tuning; LoRA and adapters)."""

from __future__ import annotations

import copy
import dataclasses
from unittest import mock

import pandas as pd
import torch
from peft import LoraConfig, get_peft_model
from trl import DatasetMixtureConfig, ModelConfig, ScriptArguments, SFTConfig, SFTTrainer, TrlParser

from helpers.chat_format import chat_format
from helpers.exercises import Feedback, failed, not_attempted, passed
from helpers.i18n import _
from helpers.lora import attention_projections
from helpers.measurements import trainable_parameters
from helpers.models import load_model_and_tokenizer, load_tokenizer
from helpers.recipe import SETTINGS

# Arguments renamed across TRL/transformers releases: the old name, and what replaced it.
_RENAMED = {
    "max_seq_length": "max_length",
    "evaluation_strategy": "eval_strategy",
}


def unknown_argument(settings: dict) -> Feedback | None:
    """Return failing Feedback naming the first key that is not an SFTConfig argument (or renamed), else None."""
    known = {field.name for field in dataclasses.fields(SFTConfig)}
    for name in settings:
        if name in _RENAMED and name not in known:
            return failed(
                _("SFTConfig has no argument {name} any more.").format(name=repr(name)),
                _("it is called {new_name} now.").format(new_name=_RENAMED[name]),
            )
        if name not in known:
            return failed(
                _("SFTConfig has no argument {name}.").format(name=repr(name)),
                _("check the spelling against the config in this lesson."),
            )
    return None


def t4_config(settings: dict) -> SFTConfig:
    """Return the SFTConfig TRL builds from settings on a Colab T4, on any machine."""
    # On a T4, torch.cuda.is_bf16_supported() answers True (it counts emulated bf16), so transformers
    # accepts bf16=True there and the run trains in slow emulated bf16. Pretending to be that GPU gives
    # the learner TRL's own verdict on a CPU too. fp16 needs no GPU to be configured, only to train.
    with (
        mock.patch("transformers.training_args.is_torch_cuda_available", return_value=True),
        mock.patch("transformers.training_args.is_torch_bf16_gpu_available", return_value=True),
    ):
        return SFTConfig(**settings)


def check_t4_settings(settings: dict | None) -> Feedback:
    """Return Feedback, truthy when settings build an SFTConfig fit for a Colab T4 (easy)."""
    if settings is None:
        return not_attempted(_("a dict of SFTConfig arguments"))
    if not isinstance(settings, dict):
        return failed(_("Expected a dict of SFTConfig arguments, got {type_name}.").format(type_name=type(settings).__name__))
    unknown = unknown_argument(settings)
    if unknown is not None:
        return unknown
    try:
        config = t4_config(settings)
    except ValueError as error:
        return failed(_("SFTConfig refused the settings: {error}").format(error=error))
    if config.bf16:
        if settings.get("bf16"):
            problem = _("bf16 is on (you set bf16=True). A T4 has no bf16 units: torch would emulate bf16, far slower than fp16.")
        else:
            problem = _(
                "bf16 is on (TRL's SFTConfig turns it on unless fp16 is set). "
                "A T4 has no bf16 units: torch would emulate bf16, far slower than fp16."
            )
        return failed(problem, _("fp16=True: TRL then leaves bf16 off (no need to write bf16=False)."))
    if not config.fp16:
        return failed(_("The T4 would train in float32: slower and twice the memory."), _("fp16=True uses its half precision."))
    if not config.assistant_only_loss:
        return failed(_("The run would learn the guidelines and questions too."), "assistant_only_loss=True.")
    if config.report_to:
        return failed(
            _("A tracker is on ({report_to}); none should be unless the learner opts in.").format(report_to=config.report_to),
            'report_to="none".',
        )
    if config.use_cpu:
        return failed(_("use_cpu=True would leave the T4 idle."), _("drop use_cpu (or set it to False)."))
    return passed(
        _(
            "A T4-ready config, as TRL built it: fp16={fp16}, bf16={bf16} "
            "(mixed precision {mixed_precision}), assistant-only loss, no tracker."
        ).format(fp16=config.fp16, bf16=config.bf16, mixed_precision=repr(config.mixed_precision))
    )


def _trainable_percent(model: torch.nn.Module, lora: LoraConfig) -> float:
    peft_model = get_peft_model(model, copy.deepcopy(lora))
    trainable = trainable_parameters(peft_model)
    return 100 * trainable / sum(p.numel() for p in peft_model.parameters())


def check_lora_budget(lora: LoraConfig | None, trainable_percent: float | None) -> Feedback:
    """Return Feedback, truthy for a rank-8 attention-only LoraConfig and its correct trainable percentage (medium)."""
    if lora is None or trainable_percent is None:
        return not_attempted(_("your LoraConfig and your percentage"))
    if not isinstance(lora, LoraConfig):
        return failed(_("Expected a peft.LoraConfig, got {type_name}.").format(type_name=type(lora).__name__))
    if lora.r != 8:
        return failed(_("The rank is {rank}; the exercise asks for 8.").format(rank=lora.r), "LoraConfig(r=8, ...).")
    targets = {lora.target_modules} if isinstance(lora.target_modules, str) else set(lora.target_modules or ())
    model, unused = load_model_and_tokenizer("base", verbose=False)
    attention = attention_projections(model)
    if targets != set(attention):
        return failed(
            _("The adapter targets {targets}; the exercise asks for the attention projections only.").format(targets=sorted(targets)),
            f"target_modules={attention}.",
        )
    truth = _trainable_percent(model, lora)
    if abs(trainable_percent - truth) <= 0.01:
        return passed(
            _("Correct: {percent:.2f} % of the parameters are trained (all-linear at r=16 trains several times more).").format(
                percent=truth
            )
        )
    if abs(trainable_percent * 100 - truth) <= 0.01:
        return failed(
            _("{answer} is a fraction, not a percentage.").format(answer=trainable_percent), _("multiply by 100.")
        )
    return failed(
        _("{answer} % is not what this config trains.").format(answer=trainable_percent),
        _("divide the parameters with requires_grad=True by all parameters of the peft model, times 100."),
    )


def check_lora_cli_settings(settings: dict | None) -> Feedback:
    """Return Feedback, truthy when settings make `trl sft` train the lesson's LoRA run (hard)."""
    if settings is None:
        return not_attempted(_("a dict of settings for trl sft"))
    if not isinstance(settings, dict):
        return failed(_("Expected a dict (as yaml.safe_load returns), got {type_name}.").format(type_name=type(settings).__name__))
    parser = TrlParser((ScriptArguments, SFTConfig, ModelConfig, DatasetMixtureConfig))
    # TRL refuses bf16 on a machine without a GPU unless use_cpu is set: add it for this check only.
    values = settings | ({} if torch.cuda.is_available() else {"use_cpu": True})
    try:
        unused, config, model_config, data = parser.parse_dict(values)
    except ValueError as error:
        return failed(
            _("TRL's parser rejected the settings: {error}").format(error=error), _("every key must be an argument of trl sft.")
        )
    if not model_config.use_peft:
        return failed(_("LoRA is off: TRL's command line trains every weight."), _("use_peft: true switches LoRA on."))
    if (model_config.lora_r, model_config.lora_alpha) != (16, 32):
        return failed(
            _("LoRA rank {rank} and alpha {alpha}; the lesson used 16 and 32.").format(
                rank=model_config.lora_r, alpha=model_config.lora_alpha
            ),
            _("lora_r and lora_alpha."),
        )
    targets = model_config.lora_target_modules
    if targets not in ("all-linear", ["all-linear"]):
        return failed(
            _("The adapter targets {targets}; the lesson adapted all linear layers.").format(targets=targets),
            "lora_target_modules: all-linear.",
        )
    if not config.assistant_only_loss or not config.chat_template_path:
        return failed(
            _("Assistant-only loss needs both assistant_only_loss: true and the training-ready template."),
            _("keep chat_template_path from the file above."),
        )
    end_of_turn = chat_format(load_tokenizer("base", verbose=False)).eos_token
    if config.eos_token != end_of_turn:
        return failed(
            _(
                "eos_token is {eos_token}: the trained model would not stop at the end of its turn (lesson 2, section 1)."
            ).format(eos_token=repr(config.eos_token)),
            _("keep eos_token: {end_of_turn} from the file above.").format(end_of_turn=end_of_turn),
        )
    if not data.datasets or data.datasets[0].path != "json":
        return failed(
            _("No training data: trl sft needs a datasets entry."), _("keep the datasets entry from outputs/cli/sft_run.yaml.")
        )
    if config.learning_rate <= SETTINGS["learning_rate"]:
        return failed(
            _("learning_rate {learning_rate} is the full fine-tuning one; LoRA used a larger one.").format(
                learning_rate=config.learning_rate
            ),
            _("copy the LoRA run's learning rate."),
        )
    return passed(_("TRL's parser reads a LoRA run: rank 16, alpha 32, all linear layers, assistant-only loss."))


def check_cut_run(trainer: SFTTrainer | None, replies: pd.DataFrame | None, whole_replies: pd.DataFrame) -> Feedback:
    """Return Feedback on a run whose max_length cut the replies: how many rows lost their end, how many replies still end (train)."""
    if trainer is None or replies is None:
        return not_attempted(_("your trained SFTTrainer and reply_table's table of its replies"))
    if not isinstance(trainer, SFTTrainer):
        return failed(_("Expected an SFTTrainer, got {type_name}.").format(type_name=type(trainer).__name__))
    if not isinstance(replies, pd.DataFrame) or "ended" not in replies:
        return failed(
            _("Expected the table that reply_table returns (it has an `ended` column)."), "reply_table(model, tokenizer, rows)."
        )
    if trainer.state.global_step == 0:
        return failed(_("The trainer has not trained yet."), _("call cut_trainer.train() before generating."))
    end_of_turn = chat_format(trainer.processing_class).end_of_turn_id
    rows = trainer.train_dataset
    cut = sum(end_of_turn not in row["labels"] for row in rows) / len(rows)
    max_length = trainer.args.max_length
    if cut < 0.5:
        return failed(
            _("max_length={max_length} kept the end of the turn in {kept:.0%} of the training rows: it cuts too little.").format(
                max_length=max_length, kept=1 - cut
            ),
            _("pick a max_length from the left side of the histogram, below most conversations' length."),
        )
    what = _(
        "max_length={max_length} cut the end of the turn from {cut:.0%} of the training rows. "
        "{ended} of your model's {replies} replies ended by themselves; "
        "this lesson's model, trained on whole replies, ended {whole_ended} of {whole_replies}."
    ).format(
        max_length=max_length,
        cut=cut,
        ended=replies["ended"].sum(),
        replies=len(replies),
        whole_ended=whole_replies["ended"].sum(),
        whole_replies=len(whole_replies),
    )
    if replies["ended"].mean() >= 0.5:
        return failed(what, _("train a fresh base model (load_model_and_tokenizer), not the one this lesson already fine-tuned."))
    return passed(
        what + " " + _("A model learns what its labels show: cut off the end of every reply, and it never learns to stop.")
    )


def _lora_rank(trainer: SFTTrainer) -> int | None:
    config = getattr(trainer.model, "peft_config", {}).get("default")
    return getattr(config, "r", None)


def check_rank_runs(trainers: dict | None, metrics: dict | None) -> Feedback:
    """Return Feedback comparing two trained LoRA runs of rank 4 and 32: parameters trained and validation loss (train)."""
    if trainers is None or metrics is None:
        return not_attempted(_("{4: trainer, 32: trainer} and {4: metrics, 32: metrics}"))
    if not isinstance(trainers, dict) or not isinstance(metrics, dict) or set(trainers) != {4, 32} or set(metrics) != {4, 32}:
        return failed(_("Expected two dicts keyed by the ranks, 4 and 32."), "{4: ..., 32: ...}.")
    for rank, trainer in trainers.items():
        if not isinstance(trainer, SFTTrainer):
            return failed(
                _("rank {rank}: expected an SFTTrainer, got {type_name}.").format(rank=rank, type_name=type(trainer).__name__)
            )
        if _lora_rank(trainer) != rank:
            if _lora_rank(trainer) is None:
                problem = _("The trainer under {rank} trains no LoRA adapter.").format(rank=rank)
            else:
                problem = _("The trainer under {rank} trains rank {trained_rank}.").format(rank=rank, trained_rank=_lora_rank(trainer))
            return failed(problem, f"peft_config=LoraConfig(r={rank}, lora_alpha={2 * rank}, ...).")
        if trainer.state.global_step == 0:
            return failed(_("The rank-{rank} trainer has not trained yet.").format(rank=rank), _("call .train() on it."))
        if "eval_loss" not in metrics[rank]:
            return failed(
                _("The rank-{rank} metrics have no eval_loss.").format(rank=rank),
                _("pass what trainer.evaluate(eval_dataset=...) returns."),
            )
    if trainers[4].state.global_step != trainers[32].state.global_step:
        return failed(_("The two runs trained for different numbers of steps: the comparison would not be fair."))
    if trainers[4].model is trainers[32].model or trainers[4].model.base_model.model is trainers[32].model.base_model.model:
        return failed(_("Both adapters sit on the same model object."), _("load a fresh base model for each run."))
    trained = {
        rank: trainable_parameters(trainer.model) / 1e6 for rank, trainer in trainers.items()
    }
    losses = {rank: metrics[rank]["eval_loss"] for rank in (4, 32)}
    gap = losses[4] - losses[32]
    verdict = (
        _("about the same validation loss: with this little data, the rank was not what limited the adapter")
        if abs(gap) < 0.05
        else _("rank {rank} reached a lower validation loss, by {gap:.2f}").format(rank=32 if gap > 0 else 4, gap=abs(gap))
    )
    return passed(
        _(
            "Rank 4 trained {small:.2f}M parameters, rank 32 {large:.2f}M ({ratio:.0f} times as many). "
            "Validation loss: {small_loss:.3f} against {large_loss:.3f}, {verdict}."
        ).format(
            small=trained[4],
            large=trained[32],
            ratio=trained[32] / trained[4],
            small_loss=losses[4],
            large_loss=losses[32],
            verdict=verdict,
        )
    )
