"""Sample from a trained model, with nanoGPT's flags.

    python -m nanogpt.sample --out_dir=out/mnist_letters --start="number:7, image:" --num_samples=5
    python -m nanogpt.sample --start="image:ĆƚĘƭǍƁŉǤŠťǫǓĝǁŅĈ, number:" --temperature=0 --num_samples=1
    python -m nanogpt.sample --start=FILE:prompt.txt
    python -m nanogpt.sample --out_dir=out/mix_both --start="ROMEO:" --max_new_tokens=300   # Shakespeare mixed in

The run folder is loaded whole (nanogpt/vlm.py: config.json, the safetensors, vocab.json), so it
samples from anywhere; text is encoded with its vocabulary, and a character outside it is refused in
one line. nanoGPT's own sample.py reads the same run's ckpt.pt, with data/<dataset>/meta.pkl.
"""
if not __package__:
    raise SystemExit("error: run it as a module from the project root: python -m nanogpt.sample --start=...")

import torch

from common.configurator import configure
from common.runtime import pick_device
from nanogpt.vlm import VLM
from tasks.vocab import decode, encode

# -----------------------------------------------------------------------------
init_from = 'resume'  # nanoGPT's key; only 'resume' (a run folder of ours) is supported here
out_dir = 'out/mnist_letters'
start = 'number:7, image:'  # or "FILE:prompt.txt" to read the prompt from a file
num_samples = 5
max_new_tokens = 32  # past the model's block, the context slides as in nanoGPT (no KV cache then)
temperature = 0.8  # 1.0 = no change, < 1.0 = less random, > 1.0 = more random, 0 = greedy
top_k = 0  # retain only the top_k most likely tokens; 0: no cut
seed = 1337
device = 'auto'
# -----------------------------------------------------------------------------


def main():
    configure(globals())
    if init_from != 'resume':
        raise SystemExit(f"error: init_from={init_from!r}: this project samples from its own runs; use 'resume'")
    dev = pick_device(device)
    torch.manual_seed(seed)
    vlm = VLM.from_pretrained(out_dir, device=dev)
    prompt = start
    if prompt.startswith('FILE:'):
        try:
            with open(prompt[5:], encoding='utf-8') as f:
                prompt = f.read()
        except (OSError, UnicodeDecodeError) as e:
            raise SystemExit(f"error: cannot read the prompt file {prompt[5:]} ({e})")
    if vlm.vocab['image_token'] in prompt:
        raise SystemExit(f"error: sample writes text: a prompt cannot show a picture (its placeholder "
                         f"{vlm.vocab['image_token']!r}); ask about a picture with `python -m eval.ask`")
    ids = encode(prompt, vlm.vocab['stoi'])
    if not ids:
        raise SystemExit("error: --start is empty; give the model a prompt, e.g. --start='number:7, image:'")
    block = vlm.gpt.config.block_size
    if len(ids) > block:
        raise SystemExit(f"error: the prompt is {len(ids)} characters but the model's block holds {block}; "
                         "shorten --start")
    x = torch.tensor(ids, dtype=torch.long, device=dev)[None].repeat(num_samples, 1)
    y = vlm.gpt.generate(x, max_new_tokens, temperature=temperature, top_k=top_k or None,
                         use_cache=len(ids) + max_new_tokens <= block + 1)
    for row in y.tolist():
        print(decode(row, vlm.vocab['itos']))
        print('---------------')


if __name__ == '__main__':
    main()
