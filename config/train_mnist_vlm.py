# The default run, sized for a 2-core CPU: about 11 minutes of training.
# Chosen by measured accuracy at a fixed CPU time budget: at ~10 minutes on this CPU, 4x128 beat
# 4x192, 6x128 and 4x256 (more steps beat more width here), batch 256 beat 128, and 4x96 runs
# 1.85x faster per step than 4x128, so it takes twice the steps in the same time.
out_dir = 'out/mnist_vlm'
eval_interval = 500
eval_iters = 10
n_layer = 4
n_head = 4
n_embd = 96
dropout = 0.0
batch_size = 256
learning_rate = 3e-3
max_iters = 2000
lr_decay_iters = 2000
warmup_iters = 100
min_lr = 3e-4
