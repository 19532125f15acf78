# MNIST's tokenizer: a small convolutional VQ-VAE writing each digit as a 4x4 grid of 16 letters from 256 codes
# (U+0100 onwards). About 65-105 s on 2 cores; its ceiling is measured in docs/studies.md.
out_dir = 'out/vqvae_mnist'  # the tokenizer names its dataset
dataset = 'mnist'  # the pictures it learns to write
encoder = 'conv'  # a grid of latents keeps the digit's layout, read row by row like text
tokens_per_image = 16  # 4x4: short records, the fastest reading and drawing
num_codes = 256  # more codes keep more of each digit for the judge to read
code_dim = 16  # width of each code vector
max_iters = 1500  # enough for its reconstructions to stop improving
