# The Fashion-MNIST tokenizer: MNIST's recipe (config/vqvae_mnist.py), a 4x4 grid of 16 tokens from
# 256 codes, trained on Fashion-MNIST's own images. About 65-105 s on 2 cores.
out_dir = 'out/vqvae_fashion_mnist'
dataset = 'fashion_mnist'
encoder = 'conv'
tokens_per_image = 16
num_codes = 256
code_dim = 16
max_iters = 1500
