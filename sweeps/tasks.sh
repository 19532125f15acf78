#!/bin/bash
# One model or many tasks, at equal CPU time: MNIST's default (read and draw through letters, three seeds: the
# seeds study) against the every-task model through letters (TASKS=all IMAGE_INPUT=letters) and that model trained
# for the default's CPU time (sweeps/configs/train_mnist_all_equal.py), each read on the test digits.
# Writes out/tasks_mnist.json.
#   make study NAME=tasks
set -eu
PY=${PY:-.venv/bin/python}
make --no-print-directory study NAME=seeds DATASET=mnist TASKS=default IMAGE_INPUT=letters
make --no-print-directory train DATASET=mnist TASKS=all IMAGE_INPUT=letters
$PY -m nanogpt.train config/train_mnist_all_letters.py sweeps/configs/train_mnist_all_equal.py \
  --dataset=mnist_all_vlm --out_dir=out/mnist_all_letters_equal --init_from=auto
runs=out/mnist_letters,out/mnist_letters_seed1338,out/mnist_letters_seed1339
$PY -m sweeps.compare --judge_ckpt=out/judge_mnist/ckpt.pt --out=out/tasks_mnist.json \
  --runs=$runs,out/mnist_all_letters_equal,out/mnist_all_letters
