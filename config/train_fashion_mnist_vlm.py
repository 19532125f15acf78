# The Fashion-MNIST run: the MNIST default's model and steps (config/train_mnist_vlm.py), on its own data.
out_dir = 'out/fashion_mnist_vlm'
dataset = 'fashion_mnist_vlm'
eval_interval = 700
eval_iters = 10
n_layer = 4
n_head = 4
n_embd = 96
dropout = 0.0
batch_size = 128
learning_rate = 3e-3
answer_weight = 10.0
max_iters = 2800
lr_decay_iters = 2800
warmup_iters = 100
min_lr = 3e-4
