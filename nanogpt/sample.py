"""Sample from a trained model, with nanoGPT's flags.

    python -m nanogpt.sample --out_dir=out/mnist_vlm --start="number:7, image:" --num_samples=5
    python -m nanogpt.sample --start="image:GHHMBWQCIVFMKSNV, number:" --temperature=0

--start may also be FILE:prompt.txt. Text is encoded with the run's meta.json
(from the data_dir the run was trained on, or --data_dir); a checkpoint without
one is taken to use the GPT-2 tokenizer, as in nanoGPT.
"""
import os

import torch

from data.mnist_vlm.format import encode, load_meta
from nanogpt.common import pick_device
from nanogpt.configurator import configure
from nanogpt.model import load_gpt

# -----------------------------------------------------------------------------
out_dir = 'out/mnist_vlm'
data_dir = ''  # '' reads the data_dir stored in the checkpoint
start = 'number:7, image:'
num_samples = 5
max_new_tokens = 32  # cut to the room left in the model's block
temperature = 0.8    # 0 is greedy
top_k = 0            # 0: no top-k cut
seed = 1337
device = 'auto'
# -----------------------------------------------------------------------------


def main():
    configure(globals())
    dev = pick_device(device)
    torch.manual_seed(seed)
    model, ckpt = load_gpt(os.path.join(out_dir, 'ckpt.pt'), dev)
    meta_dir = data_dir or (ckpt.get('config') or {}).get('data_dir', '')
    prompt = start
    if prompt.startswith('FILE:'):
        with open(prompt[5:], encoding='utf-8') as f:
            prompt = f.read()
    if meta_dir and os.path.exists(os.path.join(meta_dir, 'meta.json')):
        meta = load_meta(meta_dir)
        if meta['vocab_size'] != model.config.vocab_size:
            raise SystemExit(f"error: {meta_dir}/meta.json has {meta['vocab_size']} characters but the checkpoint "
                             f"{model.config.vocab_size}; pass the --data_dir it was trained on")
        ids = encode(prompt, meta['stoi'])
        decode = lambda t: ''.join(meta['itos'][i] for i in t)
    else:
        import tiktoken
        enc = tiktoken.get_encoding('gpt2')
        ids = enc.encode(prompt, allowed_special={'<|endoftext|>'})
        decode = enc.decode
    room = model.config.block_size + 1 - len(ids)
    if room <= 0:
        raise SystemExit(f"error: the prompt is {len(ids)} tokens but the model's block holds "
                         f"{model.config.block_size}; shorten --start")
    x = torch.tensor(ids, dtype=torch.long, device=dev)[None].repeat(num_samples, 1)
    y = model.generate(x, min(max_new_tokens, room), temperature=temperature, top_k=top_k or None)
    for row in y.tolist():
        print(decode(row))
        print('---------------')


if __name__ == '__main__':
    main()
