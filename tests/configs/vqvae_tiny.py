# A VQ-VAE small enough for a test: seconds on one CPU core.
hidden = 32
code_dim = 8
max_iters = 200
eval_interval = 50
batch_size = 64
threads = 1
