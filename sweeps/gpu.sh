#!/bin/bash
# What a GPU machine runs, in one command (docs/gpu.md), on a machine with one GPU and its own python (no venv).
# First, alone: the default `make all` timed stage by stage, then each image input's
# training step (float32 and bf16). Then many runs at once, whose accuracies count but whose seconds do
# not: DDP's NCCL path (torchrun on the one GPU), a resumed run against an unbroken one, the other image
# inputs (seeds 1337-1339, scored on the test set like the heads study), bigger letters models aiming at 0.99,
# and recipe trials scored on the validation images only (Fashion-MNIST reading, pixel runs' task shares,
# questions answered after their working).
#   MNIST_DIR=... FASHION_MNIST_DIR=... OUT=out/gpu sweeps/gpu.sh
# Writes $OUT/progress.txt and $OUT/gpu.tar.gz (every run's run.json, results, reports and logs). LAUNCH_BY is
# when the last trial may start: the shared stages and the default run come first. The trials' data lies under
# out/ (ignored by git), where a machine that keeps build outputs between calls keeps it.
set -u
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
PY=${PY:-python3}; O=${OUT:-out/gpu}; L=$O/logs; mkdir -p $L
MK="make PY=$PY SETUP="
S=$(date +%s); LAUNCH_BY=${LAUNCH_BY:-420}; HARD=${HARD:-520}; CAP=${CAP:-12}
now() { echo $(( $(date +%s) - S )); }
say() { echo "$(now)s $*" | tee -a $O/progress.txt; }
TRAIN="$PY -m nanogpt.train config/train_mnist_letters.py"
CNN="$PY -m nanogpt.train config/train_mnist_cnn.py"
FASHION="$PY -m nanogpt.train config/train_fashion_mnist_cnn.py"
ALL="$PY -m nanogpt.train config/train_mnist_all_letters.py"
launch() {  # name command...: run in the background once a slot is free, stopped at the hard deadline
  local name=$1; shift
  while [ $(jobs -rp | wc -l) -ge $CAP ]; do sleep 1; done
  [ $(now) -ge $LAUNCH_BY ] && { say "$name skipped: past the launch deadline"; return; }
  ( timeout $(( HARD - $(now) )) bash -c "$*" > $L/$name.log 2>&1; say "$name rc=$?" ) &
}
waitfor() { while [ ! -e $1 ] && [ $(now) -lt $LAUNCH_BY ]; do sleep 2; done; }

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > $L/gpu.txt 2>&1
$PY -c "import torch; print(torch.__version__, torch.cuda.get_device_name())" >> $L/gpu.txt 2>&1
say "start: $(tail -1 $L/gpu.txt)"
# 1. alone: the default pipeline (letters), as a user runs it
( time $MK all ) > $L/make_all.log 2>&1; say "make all rc=$?"
# 2. alone: 300 training steps of each input in bf16 (what a GPU run uses), letters and cnn in float32 too
for m in letters patches cnn frozen; do
  for dt in bfloat16 $( [ $m = letters ] || [ $m = cnn ] && echo float32 ); do
    $PY -m nanogpt.train config/train_mnist_$m.py --out_dir=/tmp/g/step_${m}_$dt --max_iters=300 --lr_decay_iters=300 --eval_interval=1000 \
      --dtype=$dt > $L/step_${m}_$dt.log 2>&1
    say "step $m $dt: $(grep -o '[0-9]*ms/iter' $L/step_${m}_$dt.log | tail -3 | tr '\n' ' ')"
  done
done
# 3. many at once, two CPU threads each. Data of the trials first (each in its own folder)
export OMP_NUM_THREADS=2
( $MK vqvae data judge DATASET=fashion_mnist > $L/prep_fashion.log 2>&1; touch $O/fashion.ready ) &
( $MK data TASKS=all > $L/prep_all.log 2>&1; touch $O/all.ready ) &
( $PY -m data.records.prepare config/prepare_mnist_all.py --question_work=True --out_dir=out/data_allw \
    > $L/prep_allw.log 2>&1; touch $O/allw.ready ) &
( $PY -m vqvae.train config/vqvae_mnist.py --tokens_per_image=49 --out_dir=out/vqvae49 > $L/prep_49.log 2>&1 &&
  $PY -m data.records.prepare config/prepare_mnist.py --vqvae_ckpt=out/vqvae49/ckpt.pt \
    --out_dir=out/data_49 >> $L/prep_49.log 2>&1; touch $O/49.ready ) &
R="--eval_interval=700 --init_from=auto"
EVAL_VAL="$PY -m eval.report --split=val"
launch L1_8x256 "$TRAIN --out_dir=out/L1_8x256 --n_layer=8 --n_head=8 --n_embd=256 --batch_size=256 --max_iters=4000 \
  --lr_decay_iters=4000 --learning_rate=1e-3 --min_lr=1e-4 --eval_interval=1000 && $PY -m eval.report --out_dir=out/L1_8x256"
launch ddp_nccl "torchrun --standalone --nproc_per_node=1 -m nanogpt.train config/train_mnist_cnn.py \
  --out_dir=out/ddp_nccl --max_iters=300 --lr_decay_iters=300 --eval_interval=150 --val_images=2000"
launch resume "$CNN --out_dir=out/whole --max_iters=400 --lr_decay_iters=400 --eval_interval=200 \
  --val_images=2000 && $CNN --out_dir=out/resumed --max_iters=200 --lr_decay_iters=400 \
  --eval_interval=200 --val_images=2000 && $CNN --out_dir=out/resumed --max_iters=400 \
  --lr_decay_iters=400 --eval_interval=200 --val_images=2000 --init_from=resume"
for m in patches cnn frozen; do launch head_$m "$MK train eval IMAGE_INPUT=$m"; done
launch M1_read08 "$CNN --out_dir=out/M1_read08 --task_mix=read:0.8,draw:0.2 $R \
  && $EVAL_VAL --out_dir=out/M1_read08"
launch M2_shift2 "$CNN --out_dir=out/M2_shift2 --pixel_shift=2 $R"
waitfor $O/fashion.ready
FV="$EVAL_VAL --judge_ckpt=out/judge_fashion_mnist/ckpt.pt --out_dir"
launch F0_base "$FASHION --out_dir=out/F0_base $R && $FV=out/F0_base"
launch F1_read08 "$FASHION --out_dir=out/F1_read08 --task_mix=read:0.8,draw:0.2 $R && $FV=out/F1_read08"
launch F2_flip "$FASHION --out_dir=out/F2_flip --pixel_flip=True $R && $FV=out/F2_flip"
launch F3_read08_flip "$FASHION --out_dir=out/F3_read08_flip --task_mix=read:0.8,draw:0.2 --pixel_flip=True $R \
  && $FV=out/F3_read08_flip"
launch F4_wide "$FASHION --out_dir=out/F4_wide --task_mix=read:0.8,draw:0.2 --pixel_flip=True --encoder_width=96 $R \
  && $FV=out/F4_wide"
waitfor $O/all.ready
launch T0_all "$ALL --dataset=mnist_all_vlm --out_dir=out/T0_all $R && $EVAL_VAL --out_dir=out/T0_all"
waitfor $O/allw.ready
launch T1_work "$ALL --dataset=$PWD/out/data_allw --out_dir=out/T1_work $R && $EVAL_VAL --out_dir=out/T1_work"
launch T2_work_mix "$ALL --dataset=$PWD/out/data_allw --out_dir=out/T2_work_mix $R \
  --task_mix=read:0.15,draw:0.1,caption:0.1,caption_draw:0.25,question:0.4 && $EVAL_VAL --out_dir=out/T2_work_mix"
waitfor $O/49.ready
launch L2_49_6x192 "$TRAIN --dataset=$PWD/out/data_49 --out_dir=out/L2_49_6x192 --n_layer=6 --n_head=6 --n_embd=192 \
  --max_iters=4000 --lr_decay_iters=4000 --learning_rate=2e-3 --min_lr=2e-4 --eval_interval=1000 \
  && $PY -m eval.report --out_dir=out/L2_49_6x192"
for m in letters patches cnn frozen; do
  for s in 1338 1339; do
    launch seed_${m}_$s "$PY -m nanogpt.train config/train_mnist_$m.py --out_dir=out/mnist_${m}_seed$s --seed=$s"
  done
done
while [ $(jobs -rp | wc -l) -gt 0 ] && [ $(now) -lt $((HARD + 5)) ]; do sleep 2; done
for m in letters patches cnn frozen; do
  d=out/mnist_$m
  runs=$(ls -d $d $d\_seed1338 $d\_seed1339 2>/dev/null | while read r; do [ -e $r/run.json ] && echo $r; done | paste -sd,)
  [ -n "$runs" ] && timeout 45 $PY -m sweeps.compare --runs=$runs --out=$O/heads_$m.json > $L/compare_$m.log 2>&1 &
done
wait
say "done"
tar czf $O/gpu.tar.gz --exclude='*.pt' --exclude='*.npz' --exclude='*.png' $L $O/*.json out/*/run.json \
  out/*/eval*/results.json out/*/eval*/report.md 2>/dev/null
say "packed"
