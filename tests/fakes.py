"""Stand-in models for the tests: a tiny random Llama to train or wrap, and a bigram model that writes a fixed reply.

Both have the SmolLM2 vocabulary of the tokenizer they are given. transformers is imported inside
the functions, so that importing this module (conftest.py does, for every test) stays fast.
"""

# A bigram model: with attention and MLPs zeroed, each position's logits depend on its own token
# only, so the model writes a fixed chain. After the generation prompt it answers "Hello", ends its
# turn with <|im_end|>, then, like a base model that was never told to stop there, carries on with
# " Tom" for ever. Its generation config knows only <|endoftext|>, as a base model's does.
REPLY, RUN_ON = "Hello", " Tom"


def tiny_llama(tokenizer, **config):
    """Return a random one-layer Llama of the tokenizer's vocabulary, small enough to train in a test (config: LlamaConfig changes)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    settings = dict(
        vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=1,
    )
    return LlamaForCausalLM(LlamaConfig(**settings | config))


def saved_tiny_llama(folder, tokenizer) -> str:
    """Save a tiny Llama with the tokenizer's own special-token ids, and the tokenizer, into folder; return its path."""
    tiny_llama(tokenizer, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


def make_turn_model(tokenizer):
    """Return the bigram model described above, in eval mode, for tokenizers of the SmolLM2 vocabulary."""
    import torch
    from transformers import GenerationConfig

    from helpers.templates import END_OF_TURN

    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}], add_generation_prompt=True, return_dict=True)
    prompt_end = prompt["input_ids"][-1]
    reply, end_of_turn, run_on = (tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text))[0]
                                  for text in (REPLY, END_OF_TURN, RUN_ON))
    chain = {prompt_end: reply, reply: end_of_turn, end_of_turn: run_on, run_on: run_on}
    # Untied, so the embedding (this token) and the output layer (the next one) can say different things.
    model = tiny_llama(tokenizer, tie_word_embeddings=False, bos_token_id=0, eos_token_id=0, pad_token_id=None)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            parameter.fill_(1.0 if "norm" in name else 0.0)
        for dimension, (token, next_token) in enumerate(chain.items()):
            model.model.embed_tokens.weight[token, dimension] = 1.0
            model.lm_head.weight[next_token, dimension] = 10.0
    model.generation_config = GenerationConfig(bos_token_id=0, eos_token_id=0)
    return model.eval()
