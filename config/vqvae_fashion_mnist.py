# Fashion-MNIST's tokenizer: a 7x7 grid of 49 letters from 256 codes, trained on Fashion-MNIST's own pictures.
# About 40 s on 2 cores with AMX (bf16), 60-80 s in float32; why 49 and not 16 is in docs/studies.md.
out_dir = 'out/vqvae_fashion_mnist'  # the tokenizer names its dataset
dataset = 'fashion_mnist'  # the pictures it learns to write
encoder = 'conv'  # a grid of latents keeps the item's layout
tokens_per_image = 49  # 7x7: a 4x4 grid blurs clothes past what the judge can read
num_codes = 256  # codes of the book
code_dim = 16  # width of each code vector
max_iters = 1500  # enough for its reconstructions to stop improving
eval_interval = 1500  # evaluated at the start and the end only: each reads every validation picture
