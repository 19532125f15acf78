# The blog's recipe (seed 000), for GPU users; pair it with config/vqvae_mnist_blog.py to compare like for like.
# `make bench` times its step beside the default's.
out_dir = 'out/mnist_blog'  # a run folder of its own
dataset = 'mnist_vlm'  # data/<dataset>/: the prepared records (nanoGPT's key)
eval_interval = 500  # the blog's evaluation interval
eval_iters = 20  # batches averaged for the logged train/val loss
n_layer = 8  # the blog's 8 layers
n_head = 8  # the blog's 8 heads
n_embd = 384  # the blog's width: 10x the default's compute a step
dropout = 0.2  # the blog's regularisation, for its longer schedule
batch_size = 256  # the blog's batch
learning_rate = 1e-3  # the blog's peak learning rate
max_iters = 5000  # the blog's schedule
lr_decay_iters = 5000  # the cosine schedule ends with the run
warmup_iters = 100  # a short warmup keeps the first steps stable
min_lr = 1e-4  # a tenth of the peak, as nanoGPT
