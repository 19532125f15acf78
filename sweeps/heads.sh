#!/bin/bash
# Four ways to see, head to head: each image input (letters, patches, cnn, frozen) of the dataset, each with SEEDS
# besides the default seed, all compared on the test pictures (sweeps/compare.py: reading, drawing, parameters,
# step time, validation accuracy against training seconds). About 80 min on 2 cores for MNIST.
# Writes out/heads_<dataset>.json and its curves PNG.
#   make study NAME=heads [DATASET=fashion_mnist] [SEEDS="1338 1339"]
set -eu
PY=${PY:-.venv/bin/python}
SEEDS=${SEEDS-1338 1339}
INPUTS=${INPUTS:-letters patches cnn frozen}
runs=
for m in $INPUTS; do
  eval "$(make -s --no-print-directory paths IMAGE_INPUT=$m)"
  make --no-print-directory train judge IMAGE_INPUT=$m
  runs=$runs${runs:+,}$RUN_DIR
  for s in $SEEDS; do
    $PY -m nanogpt.train $TRAIN_CONFIG --dataset=$DATA_NAME --out_dir=${RUN_DIR}_seed$s --seed=$s --init_from=auto
    runs=$runs,${RUN_DIR}_seed$s
  done
done
$PY -m sweeps.compare --runs=$runs --judge_ckpt=$JUDGE --out=out/heads_$DATASET.json
