# A GPT small enough for a test, still large enough to learn the seven-segment digits.
n_layer = 2
n_head = 2
n_embd = 64
batch_size = 64
max_iters = 400
lr_decay_iters = 400
warmup_iters = 20
learning_rate = 5e-3
eval_interval = 100
eval_iters = 2
log_interval = 100
threads = 1
