# The letters49 study's tokenizer: MNIST's as a 7x7 grid of 49 letters (256 codes). The default's 4x4 grid of 16
# loses what tells some digits apart (sweeps/letters_probe.py, docs/studies.md). About 70 s on 2 cores.
out_dir = 'out/vqvae_mnist49'
dataset = 'mnist'  # the pictures it learns to write
encoder = 'conv'
tokens_per_image = 49  # 7x7
num_codes = 256
code_dim = 16
max_iters = 1500
