# The blog's recipe, for GPU users: 8 layers, 8 heads, 384 wide, dropout 0.2, batch 256, lr 1e-3,
# 5000 iterations. Pair it with the blog's tokenizer (config/vqvae_mnist_blog.py) to compare like for like.
out_dir = 'out/mnist_vlm_blog'
eval_interval = 500
eval_iters = 20
n_layer = 8
n_head = 8
n_embd = 384
dropout = 0.2
batch_size = 256
learning_rate = 1e-3
max_iters = 5000
lr_decay_iters = 5000
warmup_iters = 100
min_lr = 1e-4
