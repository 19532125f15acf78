# The default tokenizer: a small convolutional VQ-VAE, a 4x4 grid of 16 tokens, 26 codes (A-Z).
out_dir = 'out/vqvae'
encoder = 'conv'
tokens_per_image = 16
num_codes = 26
code_dim = 16
max_iters = 1500
