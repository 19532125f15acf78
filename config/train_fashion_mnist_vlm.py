# The Fashion-MNIST run: the MNIST default's model and steps (config/train_mnist_vlm.py) on records of 49 image
# letters, in batches of 64 so that a step costs what MNIST's does. On the validation images, against the
# same run on 16-letter records in batches of 128 (eval.compare --split=val, README): read 0.8668 against
# 0.8719, drawn as prompted with guidance 0.895 against 0.809 (FID 86.3 against 147.6).
# This file alone trains the run that reads letters; `make all DATASET=fashion_mnist` adds config/image_cnn.py
# (pictures read through the conv net: 0.8891 on validation, drawn with guidance 0.917) and --out_dir=out/fashion_mnist_vlm.
out_dir = 'out/fashion_mnist_vlm_letters'
dataset = 'fashion_mnist_vlm'
eval_interval = 1400  # each evaluation reads all 10,000 validation images (about 30 s of 49-letter records)
eval_iters = 10
n_layer = 4
n_head = 4
n_embd = 96
dropout = 0.0
batch_size = 64
learning_rate = 3e-3
answer_weight = 10.0
max_iters = 2800
lr_decay_iters = 2800
warmup_iters = 100
min_lr = 3e-4
