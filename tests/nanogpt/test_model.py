import torch

from nanogpt.model import GPT, GPTConfig

NANOGPT_NAMES = {
    'transformer.wte.weight', 'transformer.wpe.weight', 'transformer.ln_f.weight', 'transformer.ln_f.bias',
    'transformer.h.0.ln_1.weight', 'transformer.h.0.ln_1.bias', 'transformer.h.0.attn.c_attn.weight',
    'transformer.h.0.attn.c_attn.bias', 'transformer.h.0.attn.c_proj.weight', 'transformer.h.0.attn.c_proj.bias',
    'transformer.h.0.ln_2.weight', 'transformer.h.0.ln_2.bias', 'transformer.h.0.mlp.c_fc.weight',
    'transformer.h.0.mlp.c_fc.bias', 'transformer.h.0.mlp.c_proj.weight', 'transformer.h.0.mlp.c_proj.bias',
    'lm_head.weight',
}


def small(**kw):
    torch.manual_seed(0)
    return GPT(GPTConfig(**{**dict(block_size=16, vocab_size=20, n_layer=1, n_head=2, n_embd=16), **kw})).eval()


def test_parameter_names_and_shapes_are_nanogpts():
    m = small()
    sd = m.state_dict()
    assert set(sd) == NANOGPT_NAMES
    assert sd['transformer.h.0.attn.c_attn.weight'].shape == (48, 16)
    assert m.lm_head.weight is m.transformer.wte.weight


def test_loss_ignores_masked_targets():
    m = small()
    x = torch.randint(20, (2, 8))
    y = torch.randint(20, (2, 8))
    _, full = m(x, y)
    masked = y.clone()
    masked[:, 4:] = -1
    _, part = m(x, masked)
    logits, _ = m(x, y)
    expect = torch.nn.functional.cross_entropy(logits[:, :4].reshape(-1, 20), y[:, :4].reshape(-1))
    assert torch.allclose(part, expect, atol=1e-6) and not torch.allclose(part, full)


def test_kv_cache_gives_the_same_tokens_as_full_recompute():
    m = small(n_layer=2)
    x = torch.randint(20, (3, 5))
    a = m.generate(x, 8, temperature=0, use_cache=True)
    b = m.generate(x, 8, temperature=0, use_cache=False)
    assert torch.equal(a, b)
    logits_full, _ = m(a[:, :12], all_logits=True)
    caches = [[] for _ in m.transformer.h]
    m(a[:, :11], caches=caches)
    step, _ = m(a[:, 11:12], caches=caches, pos0=11)
    assert torch.allclose(step[:, -1], logits_full[:, -1], atol=1e-5)


def test_the_kv_cache_grows_in_place_and_copies_of_it_go_on_from_the_same_prompt():
    m = small(n_layer=2, block_size=64)
    x = torch.randint(20, (3, 30))
    full, _ = m(x, all_logits=True)
    caches = [[] for _ in m.transformer.h]
    m(x[:, :3], caches=caches)
    for t in range(3, 30):  # one position at a time: the buffers grow to twice what they hold when full
        step, _ = m(x[:, t:t + 1], caches=caches, pos0=t)
        assert torch.allclose(step[:, -1], full[:, t], atol=1e-5)
    keys, values, n = caches[0]
    assert n == 30 and keys.shape[2] == values.shape[2] == 30  # 6, then 14, then 30
    prompt = [[] for _ in m.transformer.h]
    m(x[:, :10], caches=prompt)
    for a in (x[:, 10:14], x[:, 10:25]):  # two answers after one prompt, each from a copy of its cache
        got, _ = m(a, caches=[list(c) for c in prompt], pos0=10, all_logits=True)
        assert torch.allclose(got, full[:, 10:10 + a.shape[1]], atol=1e-5)
    assert prompt[0][2] == 10


def test_constrained_generation_only_draws_allowed_tokens():
    m = small()
    mask = torch.zeros(20, dtype=torch.bool)
    mask[[3, 7]] = True
    out = m.generate(torch.zeros(50, 1, dtype=torch.long), 10, temperature=2.0, allowed=lambda step: mask)
    assert set(out[:, 1:].flatten().tolist()) <= {3, 7}


def test_guidance_sharpens_towards_the_condition_and_is_off_without_a_difference():
    m = small(n_layer=2)
    x, free = torch.randint(20, (40, 4)), torch.randint(20, (40, 2))
    plain = m.generate(x, 6, temperature=0)
    # an unconditional stream that is the prompt itself adds nothing: log p(x|c) - log p(x) = 0
    assert torch.equal(m.generate(x, 6, temperature=0, guidance=2.0, uncond=x), plain)
    guided = m.generate(x, 6, temperature=0, guidance=2.0, uncond=free)
    assert torch.equal(m.generate(x, 6, temperature=0, guidance=2.0, uncond=free, use_cache=False), guided)
    assert not torch.equal(guided, plain)
    # the first guided token maximises log p(t|x) + 2 (log p(t|x) - log p(t|free))
    cond = m(x)[0][:, -1].log_softmax(-1)
    expect = (3 * cond - 2 * m(free)[0][:, -1].log_softmax(-1)).argmax(-1)
    assert torch.equal(guided[:, 4], expect)
