# The tasks study, over config/train_mnist_all_letters.py: the every-task model trained for the CPU time of the
# default read-and-draw run instead of its own (1250 steps of the longer records).
out_dir = 'out/mnist_all_letters_equal'
max_iters = 1250  # about the default's 330 s of training steps on 2 cores
lr_decay_iters = 1250  # the cosine schedule ends with the run
eval_interval = 625  # two evaluations
