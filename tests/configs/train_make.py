# The tiny GPT, shorter still: the Makefile test checks the stages' wiring, not what the model learns.
n_layer = 2
n_head = 2
n_embd = 32
batch_size = 32
max_iters = 100
lr_decay_iters = 100
warmup_iters = 10
learning_rate = 5e-3
eval_interval = 50
eval_iters = 2
log_interval = 50
threads = 1
