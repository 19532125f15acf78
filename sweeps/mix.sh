#!/bin/bash
# Tiny Shakespeare mixed in: one data folder of MNIST's records with Shakespeare's characters in the vocabulary
# (sweeps/configs/prepare_mnist_text.py), and five runs of the default model and steps: records only; records
# plus a fifth, and plus a half, of text windows; each text share alone (as many text tokens as its mixed run).
# Compared on validation: reading, drawing, bits per character of held-out Shakespeare. About 36 min on 2 cores.
# Writes out/mix.json.
#   make study NAME=mix
set -eu
PY=${PY:-.venv/bin/python}
make --no-print-directory vqvae judge DATASET=mnist
[ -f data/mnist_text_vlm/meta.json ] || $PY -m data.records.prepare sweeps/configs/prepare_mnist_text.py \
  --vqvae_ckpt=out/vqvae_mnist/ckpt.pt --out_dir=data/mnist_text_vlm
runs=
for m in vision both text both50 text128; do
  $PY -m nanogpt.train config/train_mnist_letters.py sweeps/configs/train_mix_$m.py --dataset=mnist_text_vlm \
    --init_from=auto
  runs=$runs${runs:+,}out/mix_$m
done
$PY -m sweeps.compare --runs=$runs --judge_ckpt=out/judge_mnist/ckpt.pt --split=val --out=out/mix.json
