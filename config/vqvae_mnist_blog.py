# The blog's tokenizer: an MLP encoder writing each digit as 8 letters from a 26-code book.
out_dir = 'out/vqvae_blog'
encoder = 'mlp'
tokens_per_image = 8
num_codes = 26
code_dim = 16
max_iters = 2000
