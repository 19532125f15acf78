#!/bin/bash
# Each recipe choice of MNIST's default undone one at a time, trained on this machine and ranked on the validation
# digits (sweeps/compare.py --split=val): the table of docs/studies.md. Runs the seeds study first (its three runs
# are the default's rows); then six GPT runs of 5-9 minutes each on 2 cores. Run it with nothing else busy.
# Writes out/compare_val.json.
#   make study NAME=recipes
set -eu
PY=${PY:-.venv/bin/python}
make --no-print-directory study NAME=seeds DATASET=mnist TASKS=default IMAGE_INPUT=letters
train() {  # name [train flags...]: one run of the default preset with the flags changed
  local name=$1; shift
  [ -f out/cmp_$name/run.json ] || $PY -m nanogpt.train config/train_mnist_letters.py --out_dir=out/cmp_$name \
    --init_from=auto "$@"
}
prep() {  # name [prepare flags...]: the default data with the flags changed
  local name=$1; shift
  [ -f data/mnist_vlm_$name/meta.json ] || $PY -m data.records.prepare config/prepare_mnist.py \
    --vqvae_ckpt=out/vqvae_mnist/ckpt.pt --out_dir=data/mnist_vlm_$name "$@"
}
train answer_weight_1 --answer_weight=1.0
train batch_256 --batch_size=256 --max_iters=1400 --lr_decay_iters=1400 --eval_interval=350
prep copies_both_forms --augment_draw=True
train copies_both_forms --dataset=mnist_vlm_copies_both_forms
prep no_copies --augment_copies=0
train no_copies --dataset=mnist_vlm_no_copies
# the model's shape at about equal CPU time
train 6x96 --n_layer=6 --max_iters=2000 --lr_decay_iters=2000 --eval_interval=500
train 4x128 --n_embd=128 --max_iters=1900 --lr_decay_iters=1900 --eval_interval=475
runs=out/mnist_letters,out/mnist_letters_seed1338,out/mnist_letters_seed1339
for name in answer_weight_1 batch_256 copies_both_forms no_copies 6x96 4x128; do runs=$runs,out/cmp_$name; done
$PY -m sweeps.compare --split=val --runs=$runs --out=out/compare_val.json
