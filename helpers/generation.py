"""Generate replies with a chat model: batched, greedy by default, and laid side by side with the references."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from helpers import reply_cache
from helpers.chat_format import chat_format
from helpers.environment import progress_displays_off
from helpers.i18n import N_, _

# This file's code turns prompts into replies: an edit to it makes every kept reply stale (helpers.reply_cache).
_CODE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def prompt_messages(messages: list[dict]) -> list[dict]:
    """Return the conversation up to (not including) its final assistant turn: what the model is asked to answer."""
    if not messages or messages[-1]["role"] != "assistant":
        last = repr(messages[-1]["role"]) if messages else _("nothing (the conversation is empty)")
        raise ValueError(_("the last message should be an assistant turn to strip, but it is {last}").format(last=last))
    return messages[:-1]


def pad_token_id(tokenizer: PreTrainedTokenizerBase) -> int:
    """Return the id to pad batches with: the pad token's, or the eos token's where there is none (a base model's tokenizer)."""
    # Any id will do: padded positions are masked out, never attended to, generated from or scored.
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def stop_token_ids(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """Return the token ids generation should stop at: the generation config's end tokens plus the end of a chat turn."""
    # A base model's config names its end-of-document token alone, so a bare `generate` runs past the
    # end of the assistant's turn; the course's replies stop there (the chat format's end of turn).
    return chat_format(tokenizer, training=False).stop_ids(model)


def generate_replies(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, conversations: list[list[dict]], **settings
) -> list[str]:
    """Return the model's reply to each conversation (each ending with a user turn), in the input order.

    settings are timed_turns' (max_new_tokens, batch_size, do_sample, temperature, top_p, progress).
    """
    return [reply for reply, unused in generate_turns(model, tokenizer, conversations, **settings)]


def generate_turns(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, conversations: list[list[dict]], **settings
) -> list[tuple[str, bool]]:
    """Return (reply, ended) for each conversation: ended is False where the reply ran on to max_new_tokens (settings: timed_turns')."""
    return timed_turns(model, tokenizer, conversations, **settings)[0]


def timed_turns(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    conversations: list[list[dict]],
    max_new_tokens: int = 96,
    batch_size: int = 64,
    do_sample: bool = False,
    temperature: float = 0.7,
    top_p: float = 0.9,
    progress: bool = True,
) -> tuple[list[tuple[str, bool]], float]:
    """Return (reply, ended) for each conversation and the seconds generating them took (when made, for kept replies).

    Batches of 64 rather than 16 give the same greedy replies about 1.2 times faster on a 2-core CPU
    (benchmarks/generation_speed.py; the weights stay in their own precision: bf16 copies are twice as fast
    there but change a few replies). Greedy replies on the CPU are kept in the course cache and given again
    when the same model is asked the same prompts with the same settings (helpers.reply_cache).
    """
    if len(conversations) == 0:
        raise ValueError(_("no conversations to answer; pass a list of conversations, each a list of messages"))
    for i, messages in enumerate(conversations):
        if not messages or messages[-1]["role"] != "user":
            raise ValueError(
                _(
                    "conversation {number} does not end with a user turn, so it is not a prompt; "
                    "for a dataset row, pass prompt_messages(row['messages']) to drop its final assistant reply"
                ).format(number=i)
            )
    texts = [tokenizer.apply_chat_template(m, add_generation_prompt=True, tokenize=False) for m in conversations]
    prompt_ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
    # Longest first: similar lengths share a batch (less padding), and running out of memory shows at once.
    order = sorted(range(len(texts)), key=lambda i: -len(prompt_ids[i]))
    sampling = {"temperature": temperature, "top_p": top_p} if do_sample else {}
    stops = stop_token_ids(model, tokenizer)
    key = None
    if reply_cache.cacheable(model, do_sample):
        # Not the pad token: padded positions are masked out, and a reply is cut at its end of turn, before any padding.
        settings = {"max_new_tokens": max_new_tokens, "batch_size": batch_size, "stops": stops}
        key = reply_cache.reply_key(model, tokenizer, prompt_ids, {**settings, "code": _CODE})
        kept = reply_cache.load(key)
        if kept is not None:
            return kept

    start = time.perf_counter()
    replies: list[tuple[str, bool]] = [("", False)] * len(texts)
    padding_side, pad_token, was_training = tokenizer.padding_side, tokenizer.pad_token, model.training
    # A decoder-only model continues from the last position of each row, so padding must go on the
    # left: right padding would put pad tokens between a prompt and its reply.
    tokenizer.padding_side = "left"
    tokenizer.pad_token = tokenizer.convert_ids_to_tokens(pad_token_id(tokenizer))
    model.eval()
    try:
        starts = range(0, len(order), batch_size)
        # tqdm's notebook bar ignores TQDM_DISABLE, so honour it here (tests and stored notebooks set it).
        hide_bar = not progress or progress_displays_off()
        for start_row in tqdm(starts, desc=_("Generating"), unit="batch", disable=hide_bar):
            batch = order[start_row : start_row + batch_size]
            # add_special_tokens=False: the chat template already wrote every special token it needs.
            inputs = tokenizer(
                [texts[i] for i in batch], return_tensors="pt", padding=True, add_special_tokens=False
            ).to(model.device)
            with torch.inference_mode():
                output = model.generate(
                    **inputs,
                    max_new_tokens=max_new_tokens,
                    do_sample=do_sample,
                    eos_token_id=stops,
                    pad_token_id=tokenizer.pad_token_id,
                    **sampling,
                )
            new_tokens = output[:, inputs["input_ids"].shape[1] :]
            at_stop = torch.isin(new_tokens, torch.tensor(stops, device=new_tokens.device))
            ended = at_stop.any(dim=1)
            # A reply is what comes before its end of turn; generate pads the rows that ended before the others.
            lengths = torch.where(ended, at_stop.int().argmax(dim=1), new_tokens.shape[1]).tolist()
            texts_out = tokenizer.batch_decode(
                [row[:length] for row, length in zip(new_tokens.tolist(), lengths)], skip_special_tokens=True
            )
            ended = ended.tolist()
            for i, text, stopped in zip(batch, texts_out, ended):
                replies[i] = (text.strip(), stopped)
    finally:
        tokenizer.padding_side, tokenizer.pad_token = padding_side, pad_token
        model.train(was_training)
    seconds = time.perf_counter() - start
    if key is not None:
        reply_cache.store(key, replies, seconds)
    return replies, seconds


def reply_table(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, rows: Iterable[dict], **generate_kwargs
) -> pd.DataFrame:
    """Return a DataFrame of prompt, reference, the model's reply and whether it ended its turn, for each row.

    "ended" is False where the reply ran on until max_new_tokens without an end-of-turn token.
    """
    rows = list(rows)
    prompts = [prompt_messages(row["messages"]) for row in rows]
    replies = generate_turns(model, tokenizer, prompts, **generate_kwargs)
    table = pd.DataFrame(
        {
            N_("prompt"): [messages[-1]["content"] for messages in prompts],
            N_("reference"): [row["messages"][-1]["content"] for row in rows],
            N_("reply"): [reply for reply, unused in replies],
            N_("ended"): [ended for unused, ended in replies],
        }
    )
    for column in ("category", "policy"):
        if rows and column in rows[0]:
            table[column] = [row[column] for row in rows]
    return table
