#!/bin/bash
# The recipe sweeps of docs/studies.md's GPU sweep table: many short GPT runs at once on one GPU,
# each scored like `make eval` (sweeps/score_run.py). Test accuracy after a given number of
# sequences carries over to the CPU; the GPU's timings do not, so CPU cost is measured apart.
#   MNIST_DIR=... make study NAME=sweep PHASE=1   # batch size, learning rate, model shape, augmentation, 7x7 grid
#   MNIST_DIR=... make study NAME=sweep PHASE=2   # augmented copies in the read form only, seeds
# Needs out/vqvae_mnist/ckpt.pt and out/judge_mnist/ckpt.pt (make vqvae judge); writes $OUT/results.jsonl.
set -u
PHASE=${1:-${PHASE:?usage: make study NAME=sweep PHASE=1 or PHASE=2}}
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
O=${OUT:-out/sweep$PHASE}; mkdir -p $O; R=$O/results.jsonl; L=$O/logs; mkdir -p $L
VQ=${VQ:-out/vqvae_mnist/ckpt.pt}; JUDGE=${JUDGE:-out/judge_mnist/ckpt.pt}; W=${WORK:-/tmp/sweep}
DEADLINE=${DEADLINE:-450}; CAP=${CAP:-8}; DEV=${DEV:-cuda}; PY=${PY:-python3}; S=$(date +%s)
prep() {  # name vqvae augment_copies augment_draw
  $PY -m data.records.prepare config/prepare_mnist.py --vqvae_ckpt=$2 --out_dir=$W/d/$1 --augment_copies=$3 \
    --augment_draw=$4 > $L/prep_$1.log 2>&1
}
run() {  # name data iters batch lr [train flags...] [ceil]; a final "ceil" also scores the tokenizer
  local name=$1 data=$2 it=$3 b=$4 lr=$5; shift 5
  local ceil=""; [ "${!#}" = ceil ] && { ceil=ceil; set -- "${@:1:$(($#-1))}"; }
  while [ $(jobs -rp | wc -l) -ge $CAP ]; do sleep 1; done
  ( $PY -m nanogpt.train config/train_mnist_letters.py --dataset=$W/d/$data --out_dir=$W/r/$name --device=$DEV \
      --dtype=float32 --threads=2 --max_iters=$it --lr_decay_iters=$it --eval_interval=$(( it / 4 )) --batch_size=$b \
      --learning_rate=$lr --min_lr=$($PY -c "print($lr/10)") "$@" > $L/$name.log 2>&1 \
    && $PY -m sweeps.score_run --name=$name --run_dir=$W/r/$name --judge_ckpt=$JUDGE --out=$R ${ceil:+--ceil=True} >> $L/$name.log 2>&1
    rc=$?; echo "$name done at $(( $(date +%s) - S ))s rc=$rc" | tee -a $O/progress.txt ) &
}
if [ $PHASE = 1 ]; then
  # both forms of the augmented copies (the defaults before this sweep), and a 7x7-grid tokenizer
  prep aug1 $VQ 1 True & P1=$!
  prep aug0 $VQ 0 True & P0=$!
  prep aug3 $VQ 3 True & P3=$!
  ( $PY -m vqvae.train config/vqvae_mnist.py --tokens_per_image=49 --out_dir=$W/vq49 --device=$DEV > $L/vq49.log 2>&1 \
    && prep g7 $W/vq49/ckpt.pt 1 True ) & P7=$!
  wait $P1
  run A1_b256_lr3 aug1 1400 256 3e-3 ceil
  run A2_b128_lr3 aug1 2800 128 3e-3
  run A3_b128_lr2 aug1 2800 128 2e-3
  run A4_b64_lr2 aug1 5600 64 2e-3
  run A6_b256_lr6 aug1 1400 256 6e-3
  run D2_6x192 aug1 3000 256 1.5e-3 --n_layer=6 --n_embd=192 --n_head=6
  wait $P0 $P3
  run C2_aug3_b128 aug3 2800 128 3e-3
  run C1_aug0_b128 aug0 2800 128 3e-3
  run B1_6x96_b128 aug1 2000 128 3e-3 --n_layer=6
  run D3_8x256_aug3 aug3 4000 256 1e-3 --n_layer=8 --n_embd=256 --n_head=8
  run A7_b128_4200 aug1 4200 128 3e-3
  run B2_4x128_b128 aug1 1900 128 3e-3 --n_embd=128
  run A5_b64_lr1 aug1 5600 64 1e-3
  run C3_aug3_b128_5600 aug3 5600 128 3e-3
  run D1_b256_5600 aug1 5600 256 3e-3
  wait $P7
  run E1_g7_4x64_b128 g7 2800 128 3e-3 --n_embd=64 ceil
  run E2_g7_4x96_b128 g7 1500 128 3e-3
else
  prep cls1 $VQ 1 False & P1=$!
  prep cls2 $VQ 2 False & P2=$!
  prep aug1 $VQ 1 True & P3=$!
  prep cls3 $VQ 3 False & P4=$!
  wait $P1
  run G1_cls1 cls1 2800 128 3e-3 ceil
  run G2_cls1_s2 cls1 2800 128 3e-3 --seed=2
  run G3_cls1_s3 cls1 2800 128 3e-3 --seed=3
  run G6_cls1_3200 cls1 3200 128 3e-3
  run G7_cls1_lr4 cls1 2800 128 4e-3
  run G8_cls1_w5 cls1 2800 128 3e-3 --answer_weight=5
  run G10_cls1_3600 cls1 3600 128 3e-3
  wait $P2 $P3 $P4
  run G5_cls2 cls2 2800 128 3e-3
  run G4_aug1_s2 aug1 2800 128 3e-3 --seed=2
  run G9_cls2_3600 cls2 3600 128 3e-3
  run G11_cls3 cls3 2800 128 3e-3
fi
# stop whatever is still running at the deadline, so the machine's time ends with the results that are in
( sleep $(( DEADLINE - ($(date +%s) - S) )); echo "deadline: stopped" >> $O/progress.txt
  pkill -f nanogpt.train; pkill -f score_run ) & K=$!
wait $(jobs -rp | grep -v "^$K$") 2>/dev/null
while pgrep -f "nanogpt.train|score_run" > /dev/null; do sleep 2; done
kill $K 2>/dev/null
echo "all done at $(( $(date +%s) - S ))s" >> $O/progress.txt
