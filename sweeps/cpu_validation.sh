#!/bin/bash
# The CPU comparisons behind the README's validation table: each recipe choice of the default undone
# one at a time, trained on this machine and ranked on the validation digits (eval.compare --split=val).
# Run after `make all` and `make seeds` (their three runs are the default's rows), with nothing else
# busy: six GPT runs of 5-9 minutes each on 2 cores, and two small tokenizers. Writes
# out/compare_val.json and out/tokenizers_val.jsonl.
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
# the model's shape at about equal CPU time (the earlier GPU sweep's B1 and B2)
train 6x96 --n_layer=6 --max_iters=2000 --lr_decay_iters=2000 --eval_interval=500
train 4x128 --n_embd=128 --max_iters=1900 --lr_decay_iters=1900 --eval_interval=475
runs=out/mnist_vlm,out/mnist_vlm_seed1338,out/mnist_vlm_seed1339
for name in answer_weight_1 batch_256 copies_both_forms no_copies 6x96 4x128; do runs=$runs,out/cmp_$name; done
$PY -m eval.compare --split=val --runs=$runs --out=out/compare_val.json
# the tokenizer's codebook: 26 and 64 codes against the default's 256, by the judge's reading of
# reconstructed validation digits
for codes in 26 64; do
  [ -f out/vqvae_$codes/ckpt.pt ] || $PY -m vqvae.train config/vqvae_mnist.py --num_codes=$codes --out_dir=out/vqvae_$codes
done
rm -f out/tokenizers_val.jsonl
for vq in out/vqvae_26 out/vqvae_64 out/vqvae; do
  PYTHONPATH=. $PY sweeps/tokenizer_ceiling.py --vqvae_ckpt=$vq/ckpt.pt >> out/tokenizers_val.jsonl
done
