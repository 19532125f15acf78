#!/bin/bash
# Letters at 0.99 on a GPU in one command, on a machine with one GPU and its own python (no venv): the letters49
# study's run (reading through 49 letters) alone and timed, the wall time docs/gpu.md asks for; then a resume on
# the GPU: a run stopped at step 200 and resumed to 400, against the same 400 unbroken.
#   MNIST_DIR=... OUT=out/gpu49 sweeps/gpu_letters49.sh
# Writes $OUT/progress.txt and $OUT/gpu.tar.gz (run.json, results, reports and logs).
set -u
export PYTHONUNBUFFERED=1
PY=${PY:-python3}; O=${OUT:-out/gpu49}; L=$O/logs; mkdir -p $L
S=$(date +%s)
say() { echo "$(( $(date +%s) - S ))s $*" | tee -a $O/progress.txt; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > $L/gpu.txt 2>&1
$PY -c "import torch; print(torch.__version__, torch.cuda.get_device_name())" >> $L/gpu.txt 2>&1
say "start: $(tail -1 $L/gpu.txt)"
( time make PY=$PY SETUP= study NAME=letters49 SEEDS= ) > $L/make_letters49.log 2>&1; say "letters49 rc=$?"
TRAIN="$PY -m nanogpt.train config/train_mnist_cnn.py --max_iters=400 --lr_decay_iters=400 \
  --eval_interval=200 --val_images=2000 --dataset=mnist49_vlm"
$TRAIN --out_dir=out/whole > $L/resume.log 2>&1 && $TRAIN --out_dir=out/resumed --max_iters=200 >> $L/resume.log 2>&1 &&
  $TRAIN --out_dir=out/resumed --init_from=resume >> $L/resume.log 2>&1; say "resume rc=$?"
tar czf $O/gpu.tar.gz $L $O/progress.txt out/mnist49_letters/run.json out/mnist49_letters/eval/results.json \
  out/mnist49_letters/eval/report.md out/whole/run.json out/resumed/run.json 2>/dev/null
say "packed"
