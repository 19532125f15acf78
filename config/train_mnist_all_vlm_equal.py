# The multi-task model of config/train_mnist_all_vlm.py (given before this one) trained for the CPU time
# of the default reading-and-drawing run instead of its own: about 330 s of training steps on 2 cores,
# 1250 steps of the longer records. `make compare-tasks` sets the two side by side.
out_dir = 'out/mnist_all_vlm_equal'
max_iters = 1250
lr_decay_iters = 1250
eval_interval = 625
