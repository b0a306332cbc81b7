"""Tests for helpers.generation: prompts from rows, batched greedy generation, and the reply table."""

import pytest
from fakes import REPLY, RUN_ON

from helpers.generation import generate_replies, generate_turns, pad_token_id, prompt_messages, reply_table, stop_token_ids
from helpers.templates import END_OF_TURN

SHORT = [{"role": "user", "content": "What is the capital of France?"}]
LONG = [
    {"role": "system", "content": "You are a pirate. Answer at length, with many words."},
    {"role": "user", "content": "Tell me about the sea and the ships that sail on it, please."},
]
HI = [{"role": "user", "content": "Hi"}]
CONVERSATIONS = [LONG, SHORT, HI]  # different lengths, so a batch of all three needs padding


@pytest.fixture(scope="module")
def alone(instruct_model_and_tokenizer):
    """Each conversation answered in a batch of its own: no padding at all."""
    return generate_replies(*instruct_model_and_tokenizer, CONVERSATIONS, max_new_tokens=8, batch_size=1)


@pytest.fixture(scope="module")
def batched(instruct_model_and_tokenizer):
    return generate_replies(*instruct_model_and_tokenizer, CONVERSATIONS, max_new_tokens=8, batch_size=3)


def test_prompt_messages_strips_the_final_assistant_turn():
    assert prompt_messages(SHORT + [{"role": "assistant", "content": "Paris."}]) == SHORT


def test_prompt_messages_keeps_earlier_turns_of_a_multi_turn_chat():
    chat = LONG + [{"role": "assistant", "content": "Arr."}] + HI + [{"role": "assistant", "content": "Ahoy."}]
    assert prompt_messages(chat) == LONG + [{"role": "assistant", "content": "Arr."}] + HI


def test_prompt_messages_rejects_a_chat_ending_with_user():
    with pytest.raises(ValueError, match="assistant turn.*'user'"):
        prompt_messages(SHORT)


def test_generate_replies_returns_one_string_per_conversation(batched):
    assert len(batched) == len(CONVERSATIONS)
    assert all(isinstance(reply, str) and reply for reply in batched)


def test_a_batch_with_left_padding_gives_each_reply_in_input_order(alone, batched):
    assert batched == alone
    assert "Paris" in batched[1]


def test_greedy_generation_repeats(instruct_model_and_tokenizer, batched):
    assert generate_replies(*instruct_model_and_tokenizer, CONVERSATIONS, max_new_tokens=8, batch_size=3) == batched


def test_generate_replies_restores_padding_side_and_training_mode(instruct_model_and_tokenizer):
    model, tokenizer = instruct_model_and_tokenizer
    model.train()
    try:
        generate_replies(model, tokenizer, [HI], max_new_tokens=1)
        assert tokenizer.padding_side == "right"
        assert model.training
    finally:
        model.eval()


def test_generate_replies_rejects_an_empty_list(instruct_model_and_tokenizer):
    with pytest.raises(ValueError, match="no conversations"):
        generate_replies(*instruct_model_and_tokenizer, [])


def test_generate_replies_rejects_a_conversation_that_is_not_a_prompt(instruct_model_and_tokenizer):
    answered = SHORT + [{"role": "assistant", "content": "Paris."}]
    with pytest.raises(ValueError, match=r"conversation 1 .*prompt_messages"):
        generate_replies(*instruct_model_and_tokenizer, [HI, answered])


def test_reply_table_lines_up_prompt_reference_and_reply(instruct_model_and_tokenizer, support_desk):
    rows = support_desk["test"].select(range(2))
    table = reply_table(*instruct_model_and_tokenizer, rows, max_new_tokens=4)
    assert list(table.columns) == ["prompt", "reference", "reply", "ended", "category", "policy"]
    assert table["prompt"][0] == rows[0]["messages"][-2]["content"]
    assert table["reference"][1] == rows[1]["messages"][-1]["content"]
    assert table["policy"].tolist() == rows["policy"]


def test_reply_table_leaves_out_columns_the_rows_do_not_have(instruct_model_and_tokenizer):
    rows = [{"messages": HI + [{"role": "assistant", "content": "Hello!"}]}]
    table = reply_table(*instruct_model_and_tokenizer, rows, max_new_tokens=1)
    assert list(table.columns) == ["prompt", "reference", "reply", "ended"]


# ── Stopping at the end of the turn (tests/conftest.py's bigram model: "Hello", <|im_end|>, " Tom"...) ──

HI_AGAIN = [{"role": "user", "content": "Hi again, a longer prompt this time"}]


def test_a_bare_generate_runs_past_the_end_of_the_turn(turn_model, base_tokenizer):
    # The trap the course guards against: the generation config stops only at <|endoftext|>.
    prompt = base_tokenizer.apply_chat_template(HI, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    output = turn_model.generate(**prompt, max_new_tokens=6, do_sample=False)
    assert base_tokenizer.decode(output[0, prompt["input_ids"].shape[1]:]) == REPLY + END_OF_TURN + RUN_ON * 4


def test_stop_token_ids_add_the_end_of_turn_to_the_generation_config(turn_model, base_tokenizer):
    assert stop_token_ids(turn_model, base_tokenizer) == [0, base_tokenizer.convert_tokens_to_ids(END_OF_TURN)]
    turn_model.generation_config.eos_token_id = [2, 0]  # already there (a model trained with eos_token)
    assert stop_token_ids(turn_model, base_tokenizer) == [2, 0]


def test_replies_stop_at_the_end_of_the_turn(turn_model, base_tokenizer):
    assert generate_replies(turn_model, base_tokenizer, [HI, HI_AGAIN], max_new_tokens=6) == [REPLY, REPLY]
    assert generate_turns(turn_model, base_tokenizer, [HI], max_new_tokens=6) == [(REPLY, True)]


def test_a_base_tokenizer_without_a_pad_token_can_batch_and_is_left_as_it_was(turn_model, base_tokenizer):
    assert base_tokenizer.pad_token is None
    generate_replies(turn_model, base_tokenizer, [HI, HI_AGAIN], max_new_tokens=2)
    assert base_tokenizer.pad_token is None and base_tokenizer.padding_side == "right"


def test_reply_table_says_whether_each_reply_ended(turn_model, base_tokenizer, support_desk):
    rows = support_desk["validation"].select(range(2))
    table = reply_table(turn_model, base_tokenizer, rows, max_new_tokens=6)
    assert table["reply"].tolist() == [REPLY, REPLY] and table["ended"].tolist() == [True, True]
    too_short = reply_table(turn_model, base_tokenizer, rows, max_new_tokens=1)
    assert too_short["ended"].tolist() == [False, False]


def test_pad_token_id_is_the_pad_token_or_else_the_eos_token(base_tokenizer, tokenizer):
    assert tokenizer.pad_token is not None and pad_token_id(tokenizer) == tokenizer.pad_token_id
    assert base_tokenizer.pad_token is None and pad_token_id(base_tokenizer) == base_tokenizer.eos_token_id


def test_an_empty_conversation_is_refused_in_vietnamese_in_the_vietnamese_notebooks(vietnamese):
    def refusal():
        with pytest.raises(ValueError) as error:
            prompt_messages([])
        return str(error.value)

    english = refusal()
    assert english == "the last message should be an assistant turn to strip, but it is nothing (the conversation is empty)"
    vietnamese.on()
    expected = vietnamese("the last message should be an assistant turn to strip, but it is {last}").format(
        last=vietnamese("nothing (the conversation is empty)")
    )
    assert refusal() == expected != english
    vietnamese.off()
    assert refusal() == english
