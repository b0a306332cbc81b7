"""Shared fixtures for the helper tests: the course tokenizer and data, loaded once per session."""

import copy

import pytest

from helpers.data import load_raw_qa, load_support_desk
from helpers.models import load_model_and_tokenizer, load_tokenizer
from helpers.templates import set_training_template


@pytest.fixture(scope="session")
def tokenizer():
    """SmolLM2-Instruct's tokenizer with its own (original) chat template. Do not mutate it."""
    return load_tokenizer("instruct", verbose=False)


@pytest.fixture(scope="session")
def training_tokenizer(tokenizer):
    """A copy of the tokenizer with the course's training template installed, as the notebooks use it."""
    return set_training_template(copy.deepcopy(tokenizer))


@pytest.fixture(scope="session")
def instruct_model_and_tokenizer():
    """SmolLM2-135M-Instruct (offline: the bundled one) and its tokenizer, loaded once. Do not train or change them."""
    return load_model_and_tokenizer("instruct", verbose=False)


@pytest.fixture(scope="session")
def base_model_and_tokenizer():
    """The base model (offline: the stand-in) in eval mode, its tokenizer with the training template, loaded once.

    Shared by every test that only reads it: do not train, wrap or change it (copy.deepcopy it first).
    """
    model, tokenizer = load_model_and_tokenizer("base", verbose=False)
    return model.eval(), set_training_template(tokenizer)


@pytest.fixture(scope="session")
def support_desk():
    return load_support_desk()


@pytest.fixture(scope="session")
def raw_qa():
    return load_raw_qa()


# A bigram model: with attention and MLPs zeroed, each position's logits depend on its own token
# only, so the model writes a fixed chain. After the generation prompt it answers "Hello", ends its
# turn with <|im_end|>, then, like a base model that was never told to stop there, carries on with
# " Tom" for ever. Its generation config knows only <|endoftext|>, as a base model's does.
REPLY, RUN_ON = "Hello", " Tom"


def make_turn_model(tokenizer):
    """Return the bigram model described above, for tokenizers of the SmolLM2 vocabulary."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    from helpers.templates import END_OF_TURN

    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}], add_generation_prompt=True, return_dict=True)
    prompt_end = prompt["input_ids"][-1]
    reply, end_of_turn, run_on = (tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text))[0]
                                  for text in (REPLY, END_OF_TURN, RUN_ON))
    chain = {prompt_end: reply, reply: end_of_turn, end_of_turn: run_on, run_on: run_on}
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=16, intermediate_size=8, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=2, tie_word_embeddings=False, bos_token_id=0, eos_token_id=0, pad_token_id=None,
    )
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            parameter.fill_(1.0 if "norm" in name else 0.0)
        for dimension, (token, next_token) in enumerate(chain.items()):
            model.model.embed_tokens.weight[token, dimension] = 1.0
            model.lm_head.weight[next_token, dimension] = 10.0
    model.generation_config = GenerationConfig(bos_token_id=0, eos_token_id=0)
    return model.eval()


@pytest.fixture
def base_tokenizer():
    """A fresh tokenizer of the base model (stand-in offline): eos <|endoftext|>, with the training template."""
    return set_training_template(load_tokenizer("base", verbose=False))


@pytest.fixture
def turn_model(base_tokenizer):
    return make_turn_model(base_tokenizer)
