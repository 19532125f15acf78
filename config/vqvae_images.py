# The tokenizer of a folder of one's own pictures (`make all IMAGES=path`; the Makefile names its dataset): the finest
# grid of letters from 256 codes, as Fashion-MNIST's: pictures of things hold more than a digit's strokes.
out_dir = 'out/vqvae_images'  # the Makefile names it after the folder: out/vqvae_<name>
encoder = 'conv'  # a grid of latents keeps the picture's layout
tokens_per_image = 0  # the finest grid up to 8x8: 7x7 of 28x28, 8x8 of 32x32; 4x4 blurs a thing past its judge
num_codes = 256  # codes of the book
code_dim = 16  # width of each code vector
max_iters = 1500  # enough for its reconstructions to stop improving
