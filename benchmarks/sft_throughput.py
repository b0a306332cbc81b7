"""Training throughput of SmolLM2-135M under SFTTrainer: TRL's defaults versus the course's recipe.

Each variant trains in a fresh process on the same support-desk rows, in the same order, for
the same number of optimizer steps (8 conversations a step), and reports:
  tokens/s   non-padding tokens the model trained on, per second, over the steps after the first
  peak MiB   the process's peak resident memory (CPU) or peak allocated memory (CUDA)
  MFU        model FLOPs per second over the machine's own measured matmul peak, for the
             precision the variant computes in (6 FLOPs per parameter per token for full
             fine-tuning, 4 for LoRA, which computes no weight gradients for frozen layers)

Usage (from the repository root, offline is fine):
  .venv/bin/python benchmarks/sft_throughput.py                   # all variants, 3 runs each, a Markdown table
  .venv/bin/python benchmarks/sft_throughput.py --variants trl_defaults recipe_full --steps 6 --repeats 1
  .venv/bin/python benchmarks/sft_throughput.py --profile trl_defaults   # where one step's time goes
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpers.environment import default_environment, detect  # imports no Hugging Face library

default_environment(Path(__file__).resolve().parent.parent / "offline.env")  # before they are imported

ROWS_PER_STEP = 8

# Each variant: SFTConfig arguments on top of TRL's defaults, and whether to train a LoRA adapter.
# Only public SFTConfig/TrainingArguments options. "recipe_*" is the throughput recipe this benchmark
# found (8 conversations a step in micro-batches of 2); lesson 2's own run is helpers.recipe's.
from helpers.recipe import RUNS  # noqa: E402
from helpers.training import pick_precision  # noqa: E402

# Precision from the hardware (bf16 where the CPU has bf16 units), as lesson 2 picks it ...
_RECIPE = pick_precision(detect())[0] | {
    "activation_checkpointing": False,  # a 135M model fits: no need to recompute activations
    "per_device_train_batch_size": 2,  # small micro-batches: less padding, smaller lm-head tiles ...
    "gradient_accumulation_steps": 4,  # ... and still 8 conversations an optimizer step
}
_LESSON2_MICRO_BATCH = RUNS["quick"]["micro_batch"]
_LESSON2 = _RECIPE | {
    "per_device_train_batch_size": _LESSON2_MICRO_BATCH,
    "gradient_accumulation_steps": ROWS_PER_STEP // _LESSON2_MICRO_BATCH,
}
VARIANTS = {
    "trl_defaults": {"config": {}, "lora": False},
    "fp32_no_checkpointing": {"config": {"bf16": False, "activation_checkpointing": False}, "lora": False},
    "bf16_no_checkpointing": {"config": {"bf16": True, "activation_checkpointing": False}, "lora": False},
    "padding_free": {
        "config": {"bf16": True, "activation_checkpointing": False, "padding_free": True, "max_length": None},
        "lora": False,
    },
    "packing_512": {
        "config": {"bf16": True, "activation_checkpointing": False, "packing": True, "max_length": 512},
        "lora": False,
    },
    "recipe_full": {"config": _RECIPE, "lora": False},
    "recipe_full_grouped": {"config": _RECIPE | {"train_sampling_strategy": "group_by_length"}, "lora": False},
    "lora_defaults": {"config": {}, "lora": True},
    "recipe_lora": {"config": _RECIPE, "lora": True},
    # The recipes as the course runs them: TRL's fused LM head scoring only the trained tokens on a CPU too
    # (helpers.training.score_trained_tokens_only_on_cpu; every other variant runs TRL's own choice).
    "recipe_full_course_head": {"config": _RECIPE, "lora": False, "course_head": True},
    # Lesson 2's quick micro-batches (helpers.recipe.RUNS; 4 conversations, 2 accumulation steps): more prompt and padding
    # positions per micro-batch for TRL's head to score on a CPU.
    "lesson2_micro_batches": {"config": _LESSON2, "lora": False},
    "lesson2_micro_batches_course_head": {"config": _LESSON2, "lora": False, "course_head": True},
    "recipe_lora_course_head": {"config": _RECIPE, "lora": True, "course_head": True},
    # Diagnostics, not recipes: the recipes with the model's own loss instead of TRL's fused LM head.
    "recipe_full_plain_loss": {"config": _RECIPE, "lora": False, "plain_loss": True},
    "recipe_lora_plain_loss": {"config": _RECIPE, "lora": True, "plain_loss": True},
}


def matmul_peak_gflops(dtype_name: str, sizes: tuple[int, ...] = (1024, 2048, 4096), repeats: int = 8) -> float:
    """Return the best measured GFLOP/s of a square matmul in the given dtype on this machine's CPU or GPU."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype_name]
    best = 0.0
    for size in sizes:
        a = torch.randn(size, size, device=device, dtype=dtype)
        b = torch.randn(size, size, device=device, dtype=dtype)
        for _ in range(repeats):
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            a @ b
            if device == "cuda":
                torch.cuda.synchronize()
            best = max(best, 2 * size**3 / (time.perf_counter() - start) / 1e9)
    return best


def run_variant(name: str, steps: int, profile: bool = False) -> dict:
    """Train one variant in this process and return its measurements."""
    import torch
    from peft import LoraConfig
    from transformers import Trainer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from helpers.data import load_support_desk
    from helpers.models import load_model_and_tokenizer
    from helpers.templates import set_training_template

    variant = VARIANTS[name]
    if not variant.get("course_head"):
        # helpers.training made the head score only the trained tokens on a CPU when it was imported: undone here.
        import trl.trainer.utils as trl_utils
        from trl.kernels.chunked_logprob import _use_triton as trls_own_choice

        trl_utils._use_triton = trls_own_choice
    model, tokenizer = load_model_and_tokenizer("base", verbose=False)
    set_training_template(tokenizer)
    n_parameters = sum(p.numel() for p in model.parameters())
    rows = load_support_desk("train").select(range(ROWS_PER_STEP * steps)).select_columns(["messages"])

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.seconds, self.tokens_seen, self.started, self.profiler = [], [], 0.0, None

        def on_step_begin(self, args, state, control, **kwargs):
            if profile and state.global_step == 2:
                self.profiler = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
                self.profiler.__enter__()
            self.started = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.seconds.append(time.perf_counter() - self.started)
            self.tokens_seen.append(state.num_input_tokens_seen)
            if self.profiler is not None:
                self.profiler.__exit__(None, None, None)
                print(self.profiler.key_averages().table(sort_by="cpu_time_total", row_limit=25))
                self.profiler = None

    with tempfile.TemporaryDirectory() as output_dir:
        config = SFTConfig(
            output_dir=output_dir,
            max_steps=steps,
            logging_steps=1,
            save_strategy="no",
            report_to="none",
            disable_tqdm=True,
            seed=0,
            include_num_input_tokens_seen="non_padding",  # counts the tokens each step trains on
            # TRL's default bf16=True is refused on a machine without a GPU unless use_cpu is set.
            use_cpu=not torch.cuda.is_available(),
            **({"per_device_train_batch_size": ROWS_PER_STEP} | variant["config"]),
        )
        lora = LoraConfig(r=16, lora_alpha=32, target_modules="all-linear", task_type="CAUSAL_LM")
        trainer_class = SFTTrainer
        if variant.get("plain_loss"):

            class PlainLossSFTTrainer(SFTTrainer):
                # Trainer's own compute_loss: the model's forward with labels, full logits, standard cross-entropy.
                def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
                    return Trainer.compute_loss(self, model, inputs, return_outputs, num_items_in_batch)

            trainer_class = PlainLossSFTTrainer
        trainer = trainer_class(
            model=model,
            args=config,
            train_dataset=rows,
            processing_class=tokenizer,
            peft_config=lora if variant["lora"] else None,
        )
        timer = StepTimer()
        trainer.add_callback(timer)
        trainer.train()

    tokens_after_first = timer.tokens_seen[-1] - timer.tokens_seen[0]
    seconds_after_first = sum(timer.seconds[1:])
    tokens_per_second = tokens_after_first / seconds_after_first
    precision = "bf16" if config.bf16 else "fp16" if config.fp16 else "fp32"
    flops_per_token = (4 if variant["lora"] else 6) * n_parameters
    if torch.cuda.is_available():
        peak_mib = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    return {
        "variant": name,
        "precision": precision,
        "tokens_per_second": tokens_per_second,
        "model_gflops_per_second": tokens_per_second * flops_per_token / 1e9,
        "peak_mib": peak_mib,
        "first_loss": losses[0],
        "last_loss": losses[-1],
        "step_seconds": timer.seconds,
    }


def device_name() -> str:
    """Return the GPU's name, or the CPU's model, core count and whether it has bf16 units."""
    import torch

    from helpers.environment import cpu_model, supports_bf16

    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"{cpu_model()}, {os.cpu_count()} cores, {'with' if supports_bf16('cpu') else 'without'} bf16 units"


def summarise(runs: list[dict]) -> dict:
    """Return one variant's median run (by tokens/s), with the range over all its runs."""
    ranked = sorted(runs, key=lambda run: run["tokens_per_second"])
    spread = f"{ranked[0]['tokens_per_second']:.0f}–{ranked[-1]['tokens_per_second']:.0f}" if len(runs) > 1 else "–"
    return ranked[len(ranked) // 2] | {"range": spread}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each variant; the table shows the median")
    parser.add_argument("--profile", choices=list(VARIANTS), help="profile one step of this variant and stop")
    parser.add_argument("--one", choices=list(VARIANTS), help=argparse.SUPPRESS)  # internal: run in a child
    arguments = parser.parse_args()

    if arguments.one or arguments.profile:
        result = run_variant(arguments.one or arguments.profile, arguments.steps, profile=bool(arguments.profile))
        print("RESULT " + json.dumps(result))
        return

    import torch

    peaks = {name: matmul_peak_gflops(name) for name in ("fp32", "bf16")}
    print(f"device: {device_name()}; torch {torch.__version__}; measured matmul peak: "
          f"fp32 {peaks['fp32']:.0f} GFLOP/s, bf16 {peaks['bf16']:.0f} GFLOP/s; {arguments.steps} steps of "
          f"{ROWS_PER_STEP} conversations; {arguments.repeats} runs of each variant\n", flush=True)
    runs: dict[str, list[dict]] = {name: [] for name in arguments.variants}
    # Round-robin, so that a slow spell on a shared machine hits every variant, not just one.
    for _ in range(arguments.repeats):
        for name in arguments.variants:
            # A fresh process per run: peak memory is its own, and no run warms another's caches.
            child = subprocess.run(
                [sys.executable, __file__, "--one", name, "--steps", str(arguments.steps)],
                capture_output=True, text=True, check=False,
            )
            lines = [line for line in child.stdout.splitlines() if line.startswith("RESULT ")]
            if child.returncode != 0 or not lines:
                print(f"{name}: failed\n{child.stderr[-2000:]}", flush=True)
                continue
            runs[name].append(json.loads(lines[-1][len("RESULT "):]))
            print(f"{name}: {runs[name][-1]['tokens_per_second']:.0f} tokens/s", flush=True)

    results = [summarise(variant_runs) for variant_runs in runs.values() if variant_runs]
    baseline = next((r["tokens_per_second"] for r in results if r["variant"] == "trl_defaults"), None)
    print("\n| variant | precision | tokens/s (median) | range | vs TRL defaults | peak MiB | MFU | loss first → last |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        speedup = f"{r['tokens_per_second'] / baseline:.2f}×" if baseline else "–"
        mfu = r["model_gflops_per_second"] / peaks[r["precision"] if r["precision"] in peaks else "bf16"]
        print(f"| {r['variant']} | {r['precision']} | {r['tokens_per_second']:.0f} | {r['range']} | {speedup} | "
              f"{r['peak_mib']:.0f} | {mfu:.1%} | {r['first_loss']:.2f} → {r['last_loss']:.2f} |")


if __name__ == "__main__":
    main()
