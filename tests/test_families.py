"""The course's machinery in other chat formats: SmolLM2 and the offline stand-ins of Qwen 2.5 (ChatML), Llama 3 and Gemma 3.

Each stand-in (helpers.stand_ins) carries its family's real template, special tokens and base-model
end of document; these tests run the course's helpers on them as a learner who sets
SFT_COURSE_BASE_MODEL to that family would. The training runs are in the slow tier.
"""

import copy
import dataclasses
import math

import pytest
import yaml
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig
from trl import SFTTrainer

from helpers.chat_format import chat_format
from helpers.data import load_general_knowledge
from helpers.environment import Environment
from helpers.evaluation import assistant_perplexity, multiple_choice_table
from helpers.generation import generate_turns, prompt_messages
from helpers.house_style import score_replies
from helpers.lora import attention_projections
from helpers.models import base_stand_in_dir, load_model_and_tokenizer
from helpers.recipe import sft_config, training_rows
from helpers.stand_ins import STAND_INS, stand_in, stand_in_dir, stand_in_tokenizer
from helpers.templates import set_training_template
from helpers.trl_cli import write_trl_cli_files
from helpers.widgets import ChatWidget

FAMILIES = ["smollm2", *STAND_INS]
# A CPU without bf16, so a run trains in float32 wherever the test runs.
CPU_ENV = Environment(platform="local", device="cpu", device_name="CPU", bf16=False, online=False,
                      offline_reason="HF_HUB_OFFLINE=1", profile="quick", profile_reason="test")
# Lesson 2's recipe, cut to three steps of two conversations: enough for each stand-in to learn to end its turn.
SHORT_RUN = {"train_rows": 6, "steps": 3, "batch": 2, "micro_batch": 2, "eval_rows": 0}


def _folder(family: str) -> str:
    return str(base_stand_in_dir() if family == "smollm2" else stand_in_dir(family))


@pytest.fixture(scope="module", params=FAMILIES)
def family(request):
    """(name, folder) of a family's offline model, as SFT_COURSE_BASE_MODEL would name it."""
    return request.param, _folder(request.param)


@pytest.fixture(scope="module")
def loaded(family):
    """The family's model (eval mode) and its tokenizer with its training template, loaded as the lessons load the base model."""
    model, tokenizer = load_model_and_tokenizer("base", model_id=family[1], verbose=False)
    return model.eval(), set_training_template(tokenizer)


def _conversations(support_desk):
    """Support-desk conversations as lesson 2 trains on them (no system prompt), one with it, and multi-turn ones."""
    rows = list(support_desk["validation"].select(range(4))) + [row for row in support_desk["train"] if len(row["messages"]) > 4][:2]
    found = [[m for m in row["messages"] if m["role"] != "system"] for row in rows]
    return found + [rows[0]["messages"]]


def test_an_unknown_stand_in_names_the_ones_the_course_builds():
    with pytest.raises(ValueError, match="'mistral'.*qwen2.5, llama3, gemma3"):
        stand_in("mistral")


@pytest.mark.parametrize("name", list(STAND_INS))
def test_a_stand_ins_tokenizer_alone_is_the_one_its_folder_holds(name):
    alone, saved = stand_in_tokenizer(name), AutoTokenizer.from_pretrained(stand_in_dir(name))
    assert alone.chat_template == saved.chat_template and alone.get_vocab() == saved.get_vocab()
    assert chat_format(alone).end_of_turn == chat_format(saved).end_of_turn != "<|im_end|>" or name == "qwen2.5"


@pytest.mark.parametrize("name", list(STAND_INS))
def test_the_generation_prompt_is_the_same_tokens_as_the_start_of_a_trained_conversation(name, support_desk):
    # A model learns its replies after the tokens training shows it; if the generation prompt tokenizes
    # otherwise at its seam (Llama 3's "\n\n" split in two), the model meets a prompt it never trained after.
    tokenizer = stand_in_tokenizer(name)
    conversation = [m for m in support_desk["validation"][0]["messages"] if m["role"] != "system"]
    prompt = tokenizer.apply_chat_template(conversation[:-1], add_generation_prompt=True, tokenize=False)
    whole = tokenizer.apply_chat_template(conversation, tokenize=False)
    prompt_ids, whole_ids = (tokenizer(text, add_special_tokens=False)["input_ids"] for text in (prompt, whole))
    assert whole_ids[: len(prompt_ids)] == prompt_ids


# ── the assistant mask ───────────────────────────────────────────────────────────────────────────


def test_the_mask_trains_every_reply_token_and_its_end_of_turn_and_nothing_else(family, support_desk):
    tokenizer = AutoTokenizer.from_pretrained(family[1])  # its own template
    found = chat_format(tokenizer)
    for messages in _conversations(support_desk):
        text = tokenizer.apply_chat_template(messages, tokenize=False)
        assert tokenizer.apply_chat_template(messages, tokenize=False, chat_template=found.training_template) == text
        # Each reply's characters, found in the model's own rendering: from where the generation prompt
        # ends to the end of the end-of-turn token; whitespace at either edge may go either way.
        replies, edges = [], []
        for index, message in enumerate(messages):
            if message["role"] == "assistant":
                start = len(tokenizer.apply_chat_template(messages[:index], tokenize=False, add_generation_prompt=True))
                end = text.index(found.end_of_turn, start) + len(found.end_of_turn)
                assert text[start : end - len(found.end_of_turn)].strip() == message["content"].strip()
                replies.append((start, end))
                before, after = len(text[:start].rstrip()), len(text) - len(text[end:].lstrip())
                edges += [(before, start), (end, after)]
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        masked = tokenizer.apply_chat_template(
            messages, chat_template=found.training_template, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
        )
        assert masked["input_ids"] == encoded["input_ids"]
        wrong = []
        for (first, last), trained in zip(encoded["offset_mapping"], masked["assistant_masks"]):
            inside = any(start <= first and last <= end for start, end in replies)
            at_edge = any(start <= first and last <= end for start, end in edges)
            if trained != inside and not at_edge:
                wrong.append((text[first:last], bool(trained)))
        assert not wrong, wrong
        end_of_turn_trained = [t for t, m in zip(masked["input_ids"], masked["assistant_masks"]) if m].count(found.end_of_turn_id)
        assert end_of_turn_trained == len(replies)


# ── generation, scoring, the chat widget, LoRA, the command line ─────────────────────────────────


def test_batched_generation_scoring_and_the_chat_widget_work(loaded, support_desk):
    model, tokenizer = loaded
    rows = list(support_desk["validation"].select(range(3)))
    turns = generate_turns(model, tokenizer, [prompt_messages(row["messages"]) for row in rows], max_new_tokens=8, batch_size=2)
    assert len(turns) == 3 and all(isinstance(reply, str) for reply, ended in turns)  # untrained: it may end at once
    assert not any(chat_format(tokenizer).end_of_turn in reply for reply, ended in turns)  # special tokens are decoded away
    assert set(score_replies([reply for reply, ended in turns], rows)) >= {"format", "content"}
    assert math.isfinite(assistant_perplexity(model, tokenizer, [row["messages"] for row in rows[:2]]))
    table = multiple_choice_table(model, tokenizer, list(load_general_knowledge().select(range(2))))
    assert len(table) == 2
    widget = ChatWidget(model, tokenizer)
    widget.max_new_tokens.value = widget.max_new_tokens.min
    assert widget.send("Hello") == widget.messages[-1]["content"]


def test_lora_modules_resolve(family):
    model = AutoModelForCausalLM.from_pretrained(family[1])
    attention = attention_projections(model)
    assert attention
    for targets in ("all-linear", attention):
        peft_model = get_peft_model(copy.deepcopy(model), LoraConfig(r=4, target_modules=targets, task_type="CAUSAL_LM"))
        adapted = {name.rsplit(".", 1)[-1] for name, module in peft_model.named_modules() if hasattr(module, "lora_A")}
        assert adapted >= set(attention) and (targets == "all-linear" or adapted == set(attention))


def test_the_command_line_files_carry_the_familys_training_template_and_end_of_turn(family, support_desk, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(family[1])
    found = chat_format(tokenizer)
    config = sft_config(CPU_ENV, tmp_path / "run", SHORT_RUN, tokenizer)
    folder = write_trl_cli_files(config, family[1], support_desk["train"].select(range(2)), tmp_path / "cli")
    assert (folder / "chat_template.jinja").read_text() == found.training_template
    assert yaml.safe_load((folder / "sft_run.yaml").read_text())["eos_token"] == found.end_of_turn


# ── training with lesson 2's recipe (slow) ───────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def trained(family, tmp_path_factory):
    """The family's model after SHORT_RUN steps of lesson 2's recipe, saved; its training prompts and chat format."""
    model, tokenizer = load_model_and_tokenizer("base", model_id=family[1], verbose=False)
    set_training_template(tokenizer)
    rows, unused = training_rows(SHORT_RUN["train_rows"], 0)
    folder = tmp_path_factory.mktemp(f"trained-{family[0]}")
    trainer = SFTTrainer(
        model=model,
        args=dataclasses.replace(sft_config(CPU_ENV, folder / "run", SHORT_RUN, tokenizer), disable_tqdm=True),
        train_dataset=rows,
        processing_class=tokenizer,
    )
    trainer.train()
    trainer.save_model(str(folder))
    return folder, [prompt_messages(row["messages"]) for row in rows], chat_format(tokenizer)


@pytest.mark.slow
def test_a_trained_model_stops_at_its_end_of_turn_with_a_bare_generate_after_from_pretrained(family, trained):
    folder, prompts, found = trained
    # The base model's trap: its generation config stops at the end of a document, not of a turn.
    assert GenerationConfig.from_pretrained(family[1]).eos_token_id != found.end_of_turn_id
    model, tokenizer = AutoModelForCausalLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
    assert tokenizer.eos_token == found.end_of_turn
    assert model.generation_config.eos_token_id[0] == found.end_of_turn_id
    turns = generate_turns(model, tokenizer, prompts, max_new_tokens=96)
    assert any(ended for reply, ended in turns), "no reply ended: the run did not teach the end of turn"
    first = next(i for i, (reply, ended) in enumerate(turns) if ended)
    prompt = tokenizer.apply_chat_template(prompts[first], add_generation_prompt=True, return_tensors="pt", return_dict=True)
    output = model.generate(**prompt, max_new_tokens=96, do_sample=False)
    assert output[0, -1] == found.end_of_turn_id
    assert tokenizer.decode(output[0, prompt["input_ids"].shape[1] :], skip_special_tokens=True).strip() == turns[first][0]

