# The run of `make letters49`: reading through 49 letters at 0.99. On top of the default's recipe
# (config/train_mnist_vlm.py, which the Makefile reads first), the 49-letter records, a wider GPT (4x128) and 2.5x
# the steps. Its trial on the validation digits (seed 1337; README "Letters at 0.99"): 0.9709 after 1000 steps,
# 0.9782 after 2000, 0.9851 after 3000, 0.9850, 0.9894, 0.9916 after 6000 (the checkpoint kept) and 0.9913 after
# 7000; 44 min of training on 2 cores (0.33-0.40 s a step, 3.3x the default's: 49 letters make records of 66
# characters instead of 33, and the GPT is wider).
out_dir = 'out/mnist49_vlm'
dataset = 'mnist49_vlm'
eval_interval = 1000  # each evaluation reads all 10,000 validation digits (about 15 s of 49-letter records)
n_embd = 128
max_iters = 7000
lr_decay_iters = 7000
