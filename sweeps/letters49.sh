#!/bin/bash
# Reading through letters at 0.99: MNIST's tokenizer as a 7x7 grid of 49 letters (sweeps/configs/vqvae_mnist49.py),
# its data with two reading copies of every training digit (prepare_mnist49.py), and a wider GPT trained longer
# (train_mnist49.py, over the default preset); folders of its own, MNIST's judge. Then the seeds study over it:
# SEEDS besides 1337 (SEEDS= for the one run), compared on the test digits. About 50 min a run on 2 cores.
#   make study NAME=letters49 [SEEDS=]
set -eu
export VQVAE_CONFIG=sweeps/configs/vqvae_mnist49.py VQVAE_DIR=out/vqvae_mnist49 \
  DATA_CONFIG=sweeps/configs/prepare_mnist49.py DATA_DIR=data/mnist49_vlm \
  TRAIN_CONFIG="config/train_mnist_letters.py sweeps/configs/train_mnist49.py" RUN_DIR=out/mnist49_letters
export DATASET=mnist TASKS=default IMAGE_INPUT=letters
bash "$(dirname "$0")/seeds.sh"
