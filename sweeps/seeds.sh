#!/bin/bash
# The spread of a run's headline: the run of the knobs (DATASET, IMAGE_INPUT, TASKS; `make all`'s) and the same
# preset again with each of SEEDS (GPT init and batch order; the same tokenizer and data), then all of them read
# and drawn on the test pictures, with mean and standard deviation (sweeps/compare.py). About 3x `make all`.
# Writes <run>/seeds.json.
#   make study NAME=seeds [DATASET=fashion_mnist] [IMAGE_INPUT=cnn] [TASKS=all] [SEEDS="1338 1339"]
set -eu
PY=${PY:-.venv/bin/python}
SEEDS=${SEEDS-1338 1339}
eval "$(make -s --no-print-directory paths)"
make --no-print-directory eval
runs=$RUN_DIR
for s in $SEEDS; do
  $PY -m nanogpt.train $TRAIN_CONFIG --dataset=$DATA_NAME --out_dir=${RUN_DIR}_seed$s --seed=$s --init_from=auto
  runs=$runs,${RUN_DIR}_seed$s
done
$PY -m sweeps.compare --runs=$runs --judge_ckpt=$JUDGE --out=$RUN_DIR/seeds.json
