"""text (tasks/text.py): windows of the text mixed in, and bits per character through nanogpt/engine.py."""
import torch

from nanogpt.engine import Engine
from nanogpt.model import GPT, GPTConfig
from tasks.text import TEXT


def test_text_windows_and_bits_per_char():
    ids = torch.arange(100) % 7
    win = TEXT.windows(ids, torch.tensor([0, 5]), 10)
    assert win.tolist()[1] == [(5 + i) % 7 for i in range(10)]
    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=9, vocab_size=7, n_layer=1, n_head=1, n_embd=8)).eval()
    bpc = TEXT.bits_per_char(Engine(model, meta=None), ids, 10, batch_size=4)
    assert 2.0 < bpc < 4.0  # an untrained model is near log2(7) = 2.81 bits
