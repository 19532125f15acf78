#!/bin/bash
# The CPU comparisons behind the README's validation table: each recipe choice of the default undone
# one at a time, trained on this machine and ranked on the validation digits (eval.compare --split=val).
# Run after `make all` and `make seeds` (their three runs are the default's rows), with nothing else
# busy: four GPT runs of about 9 minutes each on 2 cores. Writes out/compare_val.json.
set -eu
PY=${PY:-.venv/bin/python}
train() {  # name [train flags...]: one run of the default config with the flags changed
  local name=$1; shift
  [ -f out/cmp_$name/run.json ] || $PY -m nanogpt.train config/train_mnist_vlm.py --out_dir=out/cmp_$name \
    --init_from=auto "$@"
}
prep() {  # name [prepare flags...]: the default data with the flags changed
  local name=$1; shift
  [ -f data/mnist_vlm_$name/meta.json ] || $PY -m data.mnist_vlm.prepare config/prepare_mnist_vlm.py \
    --out_dir=data/mnist_vlm_$name "$@"
}
train answer_weight_1 --answer_weight=1.0
train batch_256 --batch_size=256 --max_iters=1400 --lr_decay_iters=1400 --eval_interval=350
prep copies_both_forms --augment_generation=True
train copies_both_forms --dataset=mnist_vlm_copies_both_forms
prep no_copies --augment_copies=0
train no_copies --dataset=mnist_vlm_no_copies
runs=out/mnist_vlm,out/mnist_vlm_seed1338,out/mnist_vlm_seed1339
for name in answer_weight_1 batch_256 copies_both_forms no_copies; do runs=$runs,out/cmp_$name; done
$PY -m eval.compare --split=val --runs=$runs --out=out/compare_val.json
