# The tokenizer of a folder of one's own pictures (`make all IMAGES=path`; the Makefile names its dataset): the finest
# grid of letters from 256 codes, as Fashion-MNIST's: pictures of things hold more than a digit's strokes.
out_dir = 'out/vqvae_images'  # the Makefile names it after the folder: out/vqvae_<name>
encoder = 'conv'  # a grid of latents keeps the picture's layout
tokens_per_image = 0  # the finest grid up to 8x8: 7x7 of 28x28, 8x8 of 32x32; 4x4 blurs a thing past its judge
num_codes = 256  # codes of the book; 450 kept no more of a shape than 256 did
code_dim = 16  # width of each code vector
res_blocks = 2  # two residual blocks each side of the grid: the decoder draws an edge from its neighbours' codes
perceptual = 1.0  # compare reconstructions in a classifier's features too: pixel error alone blurs a star to a disc
perceptual_steps = 600  # that classifier's training steps, a few seconds; longer kept no more of a shape
max_iters = 2500  # the colour shapes' judge reads validation reconstructions at 0.906 (FID 82), 0.88 (150) at 1500
eval_interval = 2500  # evaluated at the start and the end only: each reads every validation picture
